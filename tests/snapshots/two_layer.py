def two_layer_grad(w1, w2, x):
    # forward pass
    t1 = x @ w1
    h = np.tanh(t1)
    t2 = h @ w2
    t3 = t2 ** 2
    t4 = np.mean(t3)
    t4_bar = sd.scalar_seed(t4)
    # backward pass
    t3_bar = sd.mean_adjoint(t4_bar, t3, None, False)
    t2_bar = t3_bar * (2 * t2)
    h_bar = sd.matmul_adjoint_a(t2_bar, h, w2)
    w2_bar = sd.matmul_adjoint_b(t2_bar, h, w2)
    t1_bar = h_bar * (1 - h ** 2)
    w1_bar = sd.matmul_adjoint_b(t1_bar, x, w1)
    return (w1_bar, w2_bar)
