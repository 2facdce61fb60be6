"""Feed-forward layers: Linear, Embedding, Dropout."""

import math

import numpy as np

from .. import ops, random
from ..checks import as_indices, check_number, check_positive_ints
from ..errors import ShapeError
from ..tensor import Tensor
from .module import Module, Parameter, uniform


class Linear(Module):
    """y = x W^T + b, with W of shape (out_features, in_features) as in torch."""

    def __init__(self, in_features, out_features, bias=True, dtype=np.float32):
        super().__init__()
        check_positive_ints("Linear", in_features=in_features, out_features=out_features)
        self.in_features, self.out_features = in_features, out_features
        bound = 1 / math.sqrt(in_features)
        rng = random.generator()
        self.weight = uniform((out_features, in_features), bound, dtype, rng)
        self.bias = uniform((out_features,), bound, dtype, rng) if bias else None

    def forward(self, x):
        x = self.as_input(x)
        if x.shape[-1:] != (self.in_features,):
            raise ShapeError(f"Linear: expected input with last axis {self.in_features}, got shape {x.shape}")
        y = x @ self.weight.T
        return y + self.bias if self.bias is not None else y

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Embedding(Module):
    """Row k of `weight` for token k: a lookup whose gradient adds into the rows used."""

    def __init__(self, num_embeddings, embedding_dim, dtype=np.float32):
        super().__init__()
        check_positive_ints("Embedding", num_embeddings=num_embeddings, embedding_dim=embedding_dim)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.weight = Parameter(random.generator().standard_normal((num_embeddings, embedding_dim)).astype(dtype))

    def forward(self, indices):
        ids = Tensor._make(as_indices("Embedding", "indices", indices))
        return ops.Rows.apply(self.weight, ids, who="Embedding", what="indices")

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"


class Dropout(Module):
    """In training, zero each element with probability p and scale the rest by 1/(1-p),
    so the expected value is unchanged; in eval, the identity."""

    def __init__(self, p=0.5):
        super().__init__()
        self.p = check_number("Dropout", "p", p, "a number in [0, 1)", lambda p: 0 <= p < 1)

    def forward(self, x):
        return dropout(x, self.p, self.training)


def dropout(x, p, training):
    if not training or p == 0:
        return x
    return ops.Dropout.apply(x, p=p)
