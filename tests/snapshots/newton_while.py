def newton_sqrt_grad(a):
    # forward pass
    tape = []
    x = a
    t1 = x * x
    t2 = t1 - a
    t3 = abs(t2)
    more = t3 > 1e-12
    trips = 0
    while more:
        trips = trips + 1
        t4 = x * x
        t5 = t4 - a
        t6 = 2 * x
        t7 = t5 / t6
        tape.append(x)
        x = x - t7
        t8 = x * x
        t9 = t8 - a
        t10 = abs(t9)
        more = t10 > 1e-12
        tape.append((t6, t7))
    tape.append(trips)
    x_bar = sd.scalar_seed(x)
    # backward pass
    a_bar = sd.zeros_like(a)
    for _ in range(tape.pop()):
        t6, t7 = tape.pop()
        t7_bar = -x_bar
        x = tape.pop()
        t5_bar = t7_bar / t6
        t6_bar = -t7_bar * t7 / t6
        x_bar = x_bar + t6_bar * 2
        a_bar = a_bar - t5_bar
        x_bar = x_bar + t5_bar * x
        x_bar = x_bar + t5_bar * x
    a_bar = a_bar + x_bar
    return a_bar
