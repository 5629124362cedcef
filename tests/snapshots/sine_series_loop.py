def sine_series_grad(x, n):
    # forward pass
    tape = []
    s = 0.0
    t1 = range(n)
    for i in t1:
        t2 = x * i
        t3 = np.sin(t2)
        s = s + t3
        tape.append(t2)
    s_bar = sd.scalar_seed(s)
    # backward pass
    x_bar = sd.zeros_like(x)
    for i in reversed(t1):
        t2 = tape.pop()
        t2_bar = s_bar * np.cos(t2)
        x_bar = x_bar + t2_bar * i
    return x_bar
