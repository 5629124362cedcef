def clipped_sum_grad(xs, limit):
    # forward pass
    tape = []
    t1 = None
    total = 0.0
    stop = False
    t2 = sd.iterable(xs)
    t3 = len(t2)
    t4 = range(t3)
    trips = 0
    for k in t4:
        trips = trips + 1
        x = t2[k]
        t5 = total > limit
        if t5:
            stop = True
        else:
            tape.append(t1)
            t1 = x * x
            t6 = total + t1
            tape.append(total)
            total = t6
        tape.append(t5)
        tape.append(x)
        if stop:
            break
    tape.append(trips)
    total_bar = sd.scalar_seed(total)
    # backward pass
    t2_bar = sd.zeros_like(t2)
    for k in reversed(t4[:tape.pop()]):
        x = tape.pop()
        if tape.pop():
            x_bar = sd.zeros_like(x)
        else:
            t6_bar = total_bar
            total = tape.pop()
            total_bar = sd.unbroadcast(t6_bar, total)
            t1_bar = sd.unbroadcast(t6_bar, t1)
            x_bar = sd.unbroadcast(t1_bar * x, x)
            x_bar = x_bar + sd.unbroadcast(t1_bar * x, x)
            t1 = tape.pop()
        t2_bar = sd.add_at(t2_bar, k, x_bar)
    xs_bar = sd.sequence_adjoint(t2_bar, xs)
    return xs_bar
