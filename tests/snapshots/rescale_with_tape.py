def rescale_grad(x):
    # forward pass
    tape = []
    y = np.exp(x)
    t1 = np.sum(y)
    t2 = y / t1
    tape.append(y)
    y = t2
    t3 = y * x
    t4 = np.sum(t3)
    t4_bar = sd.scalar_seed(t4)
    # backward pass
    t3_bar = sd.sum_adjoint(t4_bar, t3, None, False)
    y_bar = t3_bar * x
    x_bar = t3_bar * y
    t2_bar = y_bar
    y = tape.pop()
    y_bar = t2_bar / t1
    t1_bar = sd.unbroadcast(-t2_bar * t2 / t1, t1)
    y_bar = y_bar + sd.sum_adjoint(t1_bar, y, None, False)
    x_bar = x_bar + y_bar * y
    return x_bar
