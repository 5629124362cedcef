def product_sine_grad(x, y):
    # forward pass
    z = x * y
    t1 = math.sin(z)
    t2 = t1 + z
    t2_bar = sd.scalar_seed(t2)
    # backward pass
    z_bar = t2_bar
    z_bar = z_bar + t2_bar * math.cos(z)
    x_bar = z_bar * y
    y_bar = z_bar * x
    return (x_bar, y_bar)
