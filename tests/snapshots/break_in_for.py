def clipped_sum_grad(xs, limit):
    # forward pass
    tape = []
    t1 = None
    total = 0.0
    stop = False
    t2 = len(xs)
    t3 = range(t2)
    trips = 0
    for k in t3:
        trips = trips + 1
        x = xs[k]
        t4 = total > limit
        if t4:
            stop = True
        else:
            tape.append(t1)
            t1 = x * x
            t5 = total + t1
            tape.append(total)
            total = t5
        tape.append(t4)
        tape.append(x)
        if stop:
            break
    tape.append(trips)
    total_bar = sd.scalar_seed(total)
    # backward pass
    xs_bar = sd.zeros_like(xs)
    for k in reversed(t3[:tape.pop()]):
        x = tape.pop()
        if tape.pop():
            x_bar = sd.zeros_like(x)
        else:
            t5_bar = total_bar
            total = tape.pop()
            total_bar = sd.unbroadcast(t5_bar, total)
            t1_bar = sd.unbroadcast(t5_bar, t1)
            x_bar = sd.unbroadcast(t1_bar * x, x)
            x_bar = x_bar + sd.unbroadcast(t1_bar * x, x)
            t1 = tape.pop()
        xs_bar = sd.add_at(xs_bar, k, x_bar)
    return xs_bar
