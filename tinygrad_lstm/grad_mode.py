"""Grad mode and scopes: two switches an op reads when it runs. Machinery: the chain rule is in
autograd.py; this file is only about *whether* a graph is recorded, *where* an op ran, and who
else is told about it.

    with no_grad(): ...            ops record no graph (evaluation, an optimizer step)
    with enable_grad(): ...        record again inside a no_grad block
    set_grad_enabled(False)        a switch, a `with` block or a decorator, as torch's
    with scope("t=3"): ...         label the ops recorded inside (pictures group by it)
    with tracing(tracer): ...      report every op run to tracer.record (how tl.compile listens)

Grad mode and scopes are context variables, as torch's grad mode is per thread: every thread
starts with the defaults and changes only its own, so a `no_grad` block in one thread does not
change what another records. A trace listens to its own thread only.
"""

import contextvars
import functools
import inspect
import threading
import weakref

import numpy as np

# (Reading a context variable costs about as much as reading a global, a third of a
# threading.local attribute: apply() reads both for every op.)
_grad_enabled = contextvars.ContextVar("grad_enabled", default=True)
# Where in the model an op ran, e.g. ("LSTM", "layer 0", "t=3"). Each recorded Function
# keeps the scope it ran in; pictures of the graph use it to group ops per module and
# per time step. It changes nothing in the math.
_scope = contextvars.ContextVar("scope", default=())


is_grad_enabled = _grad_enabled.get  # is_grad_enabled(): whether ops record a graph now
current_scope = _scope.get  # current_scope(): where an op runs now, a tuple of names, outermost first


class _Hook:
    """hook.traces: how many traces are in progress, in any thread (tl.compile); 0 almost always.
    An object's slot rather than a context variable: Function.apply reads it for every op, and
    numpy's own context variable (np.errstate) gets slower to read with every one of ours that is
    set. Only when it is not 0 does apply look up this thread's own tracer (current_tracer)."""

    __slots__ = ("traces",)


hook = _Hook()
hook.traces = 0


class _ThisThread(threading.local):
    tracer = None  # the tracer listening to this thread's ops


_this_thread = _ThisThread()
_counting = threading.Lock()


def current_tracer():
    """The tracer listening to this thread's ops, or None."""
    return _this_thread.tracer if hook.traces else None


# The tensors that ops made, while some trace was in progress, in a thread with none: a trace
# that then reads one of them refuses it (a worker thread's result would be frozen in its tape).
# id -> weak reference (a WeakSet would compare tensors with ==, an op); emptied when no trace is on.
_made_untraced = {}


def made_untraced(t):
    ref = _made_untraced.get(id(t))
    return ref is not None and ref() is t


def report(cls, inputs, params, result):
    """Function.apply's call for every op while any trace is in progress: to this thread's
    tracer, or, in a thread without one, the outputs noted as made untraced."""
    tracer = _this_thread.tracer
    if tracer is not None:
        tracer.record(cls, inputs, params, result)
    else:
        for t in result if isinstance(result, tuple) else (result,):
            _made_untraced[id(t)] = weakref.ref(t)


class _GradMode:
    """A context manager and decorator that sets grad mode, and puts the previous one back.

    The previous modes are kept on a stack, one per thread, so one instance can be entered
    again while it is active (nested blocks, a decorated function calling itself, two threads
    in one decorated function). A decorated generator function runs in this mode while it
    runs, and in its caller's mode while it waits between `yield`s, as torch does. no_grad
    and enable_grad decorate with or without parentheses, as torch's."""

    mode = True

    def __new__(cls, func=None):
        self = super().__new__(cls)
        if func is None:
            return self
        self.__init__()  # `@no_grad` without (): decorate func at once
        return self(func)

    def __init__(self):
        self._threads = threading.local()

    @property
    def _previous(self):
        return self._threads.__dict__.setdefault("stack", [])

    def __enter__(self):
        self._previous.append(_grad_enabled.get())
        _grad_enabled.set(self.mode)

    def __exit__(self, *exc):
        _grad_enabled.set(self._previous.pop())

    def __call__(self, func):
        if inspect.isgeneratorfunction(func):

            @functools.wraps(func)
            def generator(*args, **kwargs):
                gen = func(*args, **kwargs)
                resume, value = gen.send, None  # the first resume is send(None)
                while True:
                    with self:
                        try:
                            value = resume(value)
                        except StopIteration as stop:
                            return stop.value
                    try:
                        value, resume = (yield value), gen.send
                    except GeneratorExit:
                        with self:
                            gen.close()
                        raise
                    except BaseException as err:  # thrown in by the caller: pass it on
                        value, resume = err, gen.throw

            return generator

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self:
                return func(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Inside `with no_grad():` (or in a function decorated with `@no_grad()`) ops record no graph."""

    mode = False


class enable_grad(_GradMode):
    """Record the graph again inside a no_grad block."""

    mode = True


class set_grad_enabled(_GradMode):
    """set_grad_enabled(False) switches recording off at once, as a statement; as a `with`
    block it also puts the previous mode back at the end, and as a decorator it switches
    only while the function runs. True switches recording on."""

    def __new__(cls, mode):
        return object.__new__(cls)

    def __init__(self, mode):
        if not isinstance(mode, (bool, np.bool_)):
            raise TypeError(f"set_grad_enabled: mode must be True or False, got {mode!r}")
        super().__init__()
        self.mode = bool(mode)
        self._previous.append(_grad_enabled.get())  # the switch happens now
        _grad_enabled.set(self.mode)
        self._switched_now = True

    def __enter__(self):
        if self._switched_now:  # `with set_grad_enabled(m):` already switched in __init__
            self._switched_now = False
        else:
            super().__enter__()

    def __call__(self, func):  # as a decorator: undo the switch, make it on each call instead
        _grad_enabled.set(self._previous.pop())
        self._switched_now = False
        return super().__call__(func)


class tracing:
    """`with tracing(tracer):` every op this thread runs is reported to tracer.record(...).
    Each thread has its own: traces in two threads at once do not see each other's ops."""

    def __init__(self, new):
        self.new = new

    def __enter__(self):
        with _counting:
            hook.traces += 1
        self.outer, _this_thread.tracer = _this_thread.tracer, self.new

    def __exit__(self, *exc):
        _this_thread.tracer = self.outer
        with _counting:
            hook.traces -= 1
            if not hook.traces:
                _made_untraced.clear()


class scope:
    """`with scope("t=3"):` labels the ops recorded inside (nested scopes stack up). within:
    the scope to nest in, instead of the current one (the backward walk puts an op's
    derivative in the scope the op ran in)."""

    def __init__(self, name, within=None):
        self.name, self.within = name, within

    def __enter__(self):
        outer = _scope.get()
        self._token = _scope.set((outer if self.within is None else self.within) + (self.name,))

    def __exit__(self, *exc):
        _scope.reset(self._token)
