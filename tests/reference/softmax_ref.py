"""Slow reference: softmax regression by online gradient descent, one plain-Python event at a time."""

from __future__ import annotations

import math


class SoftmaxRef:
    """Classes in order of first appearance; weights as lists of lists; same step as documented."""

    def __init__(self, lr, schedule="sqrt", l2=0.0, intercept=True):
        self.lr, self.schedule, self.l2, self.intercept = lr, schedule, l2, intercept
        self.classes, self.W, self.b, self.t = [], [], [], 0

    def probs(self, x):
        z = [self.b[c] + sum(w * v for w, v in zip(self.W[c], x)) for c in range(len(self.classes))]
        m = max(z)
        e = [math.exp(v - m) for v in z]
        s = sum(e)
        return [v / s for v in e]

    def predict(self, x):
        if not self.classes:
            return None
        z = [self.b[c] + sum(w * v for w, v in zip(self.W[c], x)) for c in range(len(self.classes))]
        return self.classes[max(range(len(z)), key=lambda c: (z[c], -c))]

    def learn(self, x, y):
        if y not in self.classes:
            self.classes.append(y)
            self.W.append([0.0] * len(x))
            self.b.append(0.0)
        p = self.probs(x)
        eta = self.lr if self.schedule == "constant" else self.lr / math.sqrt(self.t + 1)
        for c, lab in enumerate(self.classes):
            g = p[c] - (1.0 if lab == y else 0.0)
            self.W[c] = [w * (1 - eta * self.l2) - eta * g * v for w, v in zip(self.W[c], x)]
            if self.intercept:
                self.b[c] -= eta * g
        self.t += 1
