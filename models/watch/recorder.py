"""``watch(model, optimizer)``: the lab's gradient instruments on any PyTorch training loop.

How it finds what it records (see docs/watch.md):
- steps: the optimizer's step pre/post hooks (the loop needs no other call). Step ``k`` is the
  ``k``-th ``optimizer.step()`` (0-based); steps ``k % every == 0`` are recorded.
- gradients: on a recorded step only, a post-accumulate-grad hook on every trainable parameter
  queues one callback at the end of each backward pass, which takes the gradient norms at once
  (``torch._foreach_norm``): the norms after accumulation and before any clipping. Between
  recorded steps no backward hook is registered at all; the step hooks return at once.
- the update: the parameters are copied (one ``torch._foreach_copy_`` into buffers kept for the
  run) at the step's pre-hook and subtracted in place (one ``torch._foreach_sub_``) at its post-hook.
- saturation: forward pre-hooks on activation modules (torch.nn's classes whose name is an entry
  of the activation registry: Sigmoid, Tanh, ReLU, LeakyReLU, GELU, ELU, SiLU), on recorded steps.
Everything a recorded step measures stays on the device as per-parameter norms (0-d tensors)
until its post-hook: one stack, one square, one index_add into layers, one sqrt, one ``tolist()``.

It never breaks the loop: an error while recording warns once, removes every hook and stops.
"""

from __future__ import annotations

import atexit
import itertools
import math
import time
import warnings
import weakref
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ..core.activations import ACTIVATIONS
from ..core.layers import saturated_units
from .run import WatchedRun

CLIP_TOLERANCE = 1e-4  # relative: a gradient norm this much below the backward's was clipped
# names the instruments write: a scalar passed to log() must not overwrite them (the dashboard
# tells these from the user's own scalars by this list)
INSTRUMENTS = RESERVED = (
    "grad_norm",
    "grad_norm_total",
    "grad_to_weight",
    "weight_norm",
    "update_ratio",
    "clipped",
    "saturation",
    "diverged",
    "wall_s",
)


def activation_kind(module: nn.Module) -> str | None:
    """The activation registry's name for a torch.nn activation module, or None.

    The registry names the non-linearities (``leaky_relu``); torch.nn's classes spell the same
    names in CamelCase (``LeakyReLU``): they match once case and underscores are ignored. Only
    torch.nn's own classes count (a user's class called ``ReLU`` may compute something else).
    """
    cls = type(module)
    if not cls.__module__.startswith("torch.nn.modules.activation"):
        return None
    key = cls.__name__.lower()
    for name in ACTIVATIONS:
        if name.replace("_", "") == key:
            return name
    return None


def _unwrap(model: nn.Module) -> tuple[nn.Module, bool]:
    """(the module whose layers are named, whether ``model`` came from torch.compile)."""
    inner = getattr(model, "_orig_mod", None)
    if isinstance(inner, nn.Module):
        return inner, True
    return model, False


class Watch:
    """Records one training loop; see :func:`watch`. Use ``log``, then ``close`` (or ``with``)."""

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        every: int = 10,
        name: str | None = None,
        out: str | None = None,
        scaler: Any = None,
        store: bool | str = True,
        saturation_every: int | None = None,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"watch: model must be a torch.nn.Module, got {type(model).__name__}")
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(
                f"watch: optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}"
            )
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"watch: every must be a whole number ≥ 1, got {every!r}")
        if scaler is not None and not callable(getattr(scaler, "get_scale", None)):
            raise TypeError("watch: scaler must be a torch.amp.GradScaler (it has get_scale())")
        base, self.compiled = _unwrap(model)
        if saturation_every is None:
            saturation_every = every
        if (
            isinstance(saturation_every, bool)
            or not isinstance(saturation_every, int)
            or saturation_every < every
            or saturation_every % every
        ):
            raise ValueError(
                f"watch: saturation_every must be a multiple of every ({every}), "
                f"got {saturation_every!r}"
            )
        self.every, self.scaler, self.out, self.store = every, scaler, out, store
        self.saturation_every = saturation_every
        self.optimizer = optimizer
        self._layer_mods, self._params, seen = [], [], set()
        # a layer: a module with trainable parameters of its own; a parameter shared by several
        # modules (tied weights) counts once, under the first (as named_parameters() does)
        for mname, m in base.named_modules():
            own = []
            for p in m.parameters(recurse=False):
                if p.requires_grad and id(p) not in seen:
                    seen.add(id(p))
                    own.append(p)
            if own:
                self._layer_mods.append((mname or type(m).__name__, m, own))
        if not self._layer_mods:
            raise ValueError("watch: the model has no trainable parameters")
        self._set_params()
        in_opt = {id(p) for g in optimizer.param_groups for p in g["params"]}
        if not any(id(p) in in_opt for _, _, own in self._layer_mods for p in own):
            raise ValueError("watch: none of the model's parameters is in this optimizer")
        self._acts = (
            []
            if self.compiled
            else [
                (n, m, k) for n, m in base.named_modules() if (k := activation_kind(m)) is not None
            ]
        )
        title = name or type(base).__name__
        self.run = WatchedRun(
            name=str(title),
            every=every,
            saturation_every=saturation_every,
            model=type(base).__name__,
            optimizer=type(optimizer).__name__,
            scaler=scaler is not None,
            compiled=self.compiled,
            params=sum(p.numel() for _, _, own in self._layer_mods for p in own),
        )
        self.steps = 0  # optimizer steps done
        self._last_recorded: int | None = None  # the last recorded step (all finite until then)
        self._prev_recorded: int | None = None  # the recorded step before it
        self.error: str | None = None
        self.closed = False
        self._t0 = time.perf_counter()
        self._handles: list = []  # hooks for the whole run (step hooks)
        self._armed_handles: list = []  # gradient hooks of one recorded step
        self._act_handles: list = []  # activation hooks of one step that records saturation
        self._sat_armed = False
        self._armed = False
        self._queued = False
        self._touched: set[int] = set()
        self._pre: list[torch.Tensor] | None = None  # per-parameter gradient norms at backward
        self._before: list[torch.Tensor] | None = None  # parameter copies, reused every step
        self._has_grad: list[bool] = []
        self._grad_versions: list = []
        self._bad_keys: set[str] = set()
        self._scale: Any = None
        self._sat: dict[int, list] = {}
        self._step_state: dict[str, Any] | None = None
        self._order: list[int] = []  # ids of modules in the order of their first forward call
        self._order_set: set[int] = set()
        self._order_handles: list = []
        self._act_order: list[int] = list(range(len(self._acts)))
        self._base = base
        self._scalars: dict[str, float] = {}
        self._layers_fixed = False
        self._done_cb = self._guard(self._backward_done)  # made once, queued at each backward
        try:
            self._handles.append(optimizer.register_step_pre_hook(self._guard(self._pre_step)))
            self._handles.append(optimizer.register_step_post_hook(self._guard(self._post_step)))
            if not self.compiled:  # hooks on a compiled model's modules would recompile it
                for m in base.modules():
                    self._order_handles.append(m.register_forward_pre_hook(self._seen_forward))
            self._arm()  # step 0 is recorded
        except Exception:
            self._remove_hooks()
            raise
        ref = weakref.ref(self)
        self._atexit = lambda: (w := ref()) is not None and w.close()
        atexit.register(self._atexit)

    # --- public --------------------------------------------------------------------------------

    def log(self, **scalars: Any) -> None:
        """Scalars of the last optimizer step (numbers or one-element tensors), kept at recorded
        steps: e.g. ``w.log(loss=loss, accuracy=acc)`` after ``optimizer.step()``."""
        if self.error is not None or self.closed:
            return
        step = max(0, self.steps - 1)
        if step % self.every:
            return  # not a recorded step: nothing is read (no device sync)
        for key, value in scalars.items():
            try:
                value = _scalar(key, value)
            except (TypeError, ValueError) as e:  # a bad scalar is skipped, never the loop
                if key not in self._bad_keys:
                    self._bad_keys.add(key)
                    warnings.warn(
                        f"gradient_flow_lab.watch: {e}; not recorded", RuntimeWarning, stacklevel=2
                    )
                continue
            except Exception as e:  # noqa: BLE001 - recording must never stop training
                self._fail(e)
                return
            self.run.add(step, key, 0, value)
            if key in ("loss", "val_loss") and not math.isfinite(value):
                after = self._prev_recorded if step == self._last_recorded else self._last_recorded
                self.run.mark_diverged(step, 0, after)  # layer 0: the loss itself

    def close(self) -> WatchedRun:
        """Stop recording, write ``out/`` and save the run in the store; returns the run."""
        if self.closed:
            return self.run
        self.closed = True
        atexit.unregister(self._atexit)
        if not self._layers_fixed and self.error is None:
            try:
                self._fix_layers()
            except Exception as e:  # noqa: BLE001
                self._fail(e)
        self._remove_hooks()
        self.run.steps = self.steps
        self.run.wall_s = time.perf_counter() - self._t0
        self.run.error = self.error
        try:
            if self.out is not None:
                self.run.write(self.out)
            if self.store:
                from .store_adapter import save_watched

                path = self.store if isinstance(self.store, str) else None
                self.run.store_id = save_watched(self.run, path)
        except Exception as e:  # noqa: BLE001 - a full disk must not raise at the end of training
            warnings.warn(
                f"gradient_flow_lab.watch: the run could not be saved: {type(e).__name__}: {e}",
                RuntimeWarning,
                stacklevel=2,
            )
        return self.run

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.run.stopped = True
        self.close()

    # --- hooks ---------------------------------------------------------------------------------

    def _guard(self, fn: Callable) -> Callable:
        def hook(*args, **kwargs):
            if self.error is not None:
                return None
            try:
                fn(*args, **kwargs)
            except Exception as e:  # noqa: BLE001
                self._fail(e)
            return None

        return hook

    def _fail(self, e: BaseException) -> None:
        self.error = f"{type(e).__name__}: {e}"
        self._remove_hooks()
        warnings.warn(
            f"gradient_flow_lab.watch: recording stopped at step {self.steps} ({self.error}); "
            "training goes on",
            RuntimeWarning,
            stacklevel=3,
        )

    def _remove_hooks(self) -> None:
        for hooks in (self._handles, self._armed_handles, self._act_handles, self._order_handles):
            _remove(hooks)
        self._armed = self._sat_armed = False

    def _seen_forward(self, module: nn.Module, args) -> None:
        if id(module) not in self._order_set:
            self._order_set.add(id(module))
            self._order.append(id(module))

    def _arm(self) -> None:
        """Hooks for one recorded step: gradients after accumulation; activations' inputs when
        the step also records saturation.

        Hooks needed at every step (every=1, saturation_every=1) stay registered: registering
        and removing them each step would cost more than they do."""
        self._armed, self._queued = True, False
        self._touched, self._pre, self._sat = set(), None, {}
        self._sat_armed = self.steps % self.saturation_every == 0
        if not self._armed_handles:
            for _, _, own in self._layer_mods:
                for p in own:
                    # unguarded: it only adds to a set; the callback it queues is guarded
                    self._armed_handles.append(
                        p.register_post_accumulate_grad_hook(self._accumulated)
                    )
        if self._sat_armed and not self._act_handles:
            for i, (_, m, kind) in enumerate(self._acts):
                self._act_handles.append(m.register_forward_pre_hook(self._act_hook(i, kind)))

    def _disarm(self) -> None:
        self._armed = self._sat_armed = False
        if self.error is not None or self.every > 1:
            _remove(self._armed_handles)
        if self.error is not None or self.saturation_every > 1:
            _remove(self._act_handles)

    def _accumulated(self, p: torch.Tensor) -> None:
        if not self._armed:
            return
        self._touched.add(id(p))
        if not self._queued:  # one callback per backward pass, after its last accumulation
            self._queued = True
            try:
                torch.autograd.Variable._execution_engine.queue_callback(self._done_cb)
            except Exception as e:  # noqa: BLE001 - recording must never stop training
                self._fail(e)

    def _backward_done(self) -> None:
        self._queued = False
        if not self._layers_fixed:  # the forward pass has run: its order is known
            self._fix_layers()
        touched = self._touched
        grads = [p.grad if id(p) in touched else None for p in self._params]
        self._pre = self._param_norms(grads)
        self._has_grad = [any(g is not None for g in grads[a:b]) for a, b in self._spans]
        # which gradient tensors, in which version: the step compares (a clip, an unscale_ or any
        # in-place change bumps the version; unchanged ones need no second norm)
        self._grad_versions = [(g, None if g is None else g._version) for g in grads]
        if self.scaler is not None:  # the scale these gradients were multiplied by
            scale = getattr(self.scaler, "_scale", None)
            self._scale = scale.detach().clone() if isinstance(scale, torch.Tensor) else None
            if self._scale is None:
                self._scale = float(self.scaler.get_scale())

    def _act_hook(self, i: int, kind: str) -> Callable:
        # "dead" (ReLU-like): never active ⇔ the unit's largest pre-activation over the batch is
        # ≤ 0 (saturated_units' rule); the hook keeps the maximum, _shares compares all at once
        dead = ACTIVATIONS[kind].saturation == "dead"

        def hook(module, args):
            if not self._sat_armed or not torch.is_grad_enabled() or not args:
                return None  # evaluation passes (no_grad) do not count
            try:
                z = args[0]
                if isinstance(z, torch.Tensor) and z.is_floating_point() and z.numel():
                    z = z.detach()  # detached: no graph
                    if dead:  # one reduction here; its `≤ 0` waits for the step's record
                        flags = (
                            z.reshape(z.shape[0], -1).amax(0) if z.dim() > 1 else z.amax(0, True)
                        )
                    else:
                        flags = saturated_units(kind, z)
                    if flags is not None:
                        self._sat.setdefault(i, []).append(flags)
            except Exception as e:  # noqa: BLE001
                self._fail(e)
            return None

        return hook

    def _fix_layers(self) -> None:
        """Forward order, once (at the first step): a module that never ran its own forward (its
        parent reads its weights directly, as attention reads out_proj; a branch not taken yet)
        goes after the last module its nearest ancestor that ran called."""
        for h in self._order_handles:
            h.remove()
        self._order_handles = []
        self._layers_fixed = True
        if self.compiled or not self._order:
            self.run.set_layers(self._layer_names(), *self._act_names())
            return
        pos = {mid: i for i, mid in enumerate(self._order)}
        parents: dict[str, int] = {}
        for n, m in self._base.named_modules():
            if id(m) in pos:
                parents[n] = pos[id(m)]

        def key(item):
            j, (n, m, _) = item
            if id(m) in pos:
                return (pos[id(m)], 0, j)
            parts = n.split(".")
            while parts:  # after everything the nearest ancestor that ran called
                parts.pop()
                anc = ".".join(parts)
                if anc in parents:
                    inside = [
                        p
                        for a, p in parents.items()
                        if not anc or a == anc or a.startswith(anc + ".")
                    ]
                    return (max(inside), 1, j)
            return (math.inf, 1, j)

        self._layer_mods = [lm for _, lm in sorted(enumerate(self._layer_mods), key=key)]
        self._set_params()
        act_key = {id(m): pos.get(id(m), math.inf) for _, m, _ in self._acts}
        order = sorted(range(len(self._acts)), key=lambda i: (act_key[id(self._acts[i][1])], i))
        self._act_order = order
        self.run.set_layers(self._layer_names(), *self._act_names())

    def _set_params(self) -> None:
        """The parameters layer by layer, and the sizes ``_layer_sq`` segments them by."""
        self._params = [p for _, _, own in self._layer_mods for p in own]
        counts = [len(own) for _, _, own in self._layer_mods]
        self._layer_of_param = [i for i, n in enumerate(counts) for _ in range(n)]
        self._layer_index: dict[torch.device, torch.Tensor] = {}
        ends = list(itertools.accumulate(counts))
        self._spans = list(zip([0] + ends[:-1], ends))

    def _layer_names(self) -> list[str]:
        return [n for n, _, _ in self._layer_mods]

    def _act_names(self) -> tuple[list[str], list[str]]:
        """(activation modules' names, their registry names), in forward order."""
        acts = [self._acts[i] for i in self._act_order]
        return [n for n, _, _ in acts], [k for _, _, k in acts]

    def _pre_step(self, optimizer, args, kwargs) -> None:
        if not self._armed:
            return
        if not self._layers_fixed:
            self._fix_layers()
        if self._pre is None:  # no backward pass reached the model's parameters
            self._disarm()
            return
        params = self._params
        old = self._grad_versions
        grads = [None if g is None else p.grad for p, (g, _) in zip(params, old)]
        same = all(g is None or (p.grad is g and g._version == v) for p, (g, v) in zip(params, old))
        with torch.no_grad():
            self._snapshot()
            self._step_state = {
                "pre": self._pre,
                "now": None if same else self._param_norms(grads),
                "has_grad": self._has_grad,
                "scale": self._scale,
                "changed": not same,
            }
        self._disarm()  # the backward passes of the next steps run without hooks

    def _post_step(self, optimizer, args, kwargs) -> None:
        k = self.steps
        self.steps += 1
        state, self._step_state = self._step_state, None
        if state is not None:
            self._record(k, state)
        if self.steps % self.every == 0 and self.error is None:
            self._arm()

    # --- one recorded step ---------------------------------------------------------------------

    def _snapshot(self) -> None:
        """Copy the parameters into ``_before``: buffers allocated once and reused (one
        ``_foreach_copy_``, no allocation), re-made if a parameter changed shape, dtype or device."""
        params, before = self._params, self._before
        if before is None or any(
            b.shape != p.shape or b.dtype != p.dtype or b.device != p.device
            for b, p in zip(before, params)
        ):
            before = self._before = [
                torch.empty_like(p, memory_format=torch.contiguous_format) for p in params
            ]
        torch._foreach_copy_(before, [p.detach() for p in params])

    def _param_norms(self, tensors: list[torch.Tensor | None]) -> list[torch.Tensor] | None:
        """Per-parameter L2 norms (0-d float32 tensors on the first one's device; 0 where a
        tensor is None: no gradient) in one batched call; None when every tensor is None."""
        present = [t for t in tensors if t is not None]
        if not present:
            return None
        dev = present[0].device
        norms = _norms(present)
        if len(present) < len(tensors) or any(n.device != dev for n in norms):
            it, zero = iter(norms), torch.zeros((), device=dev)
            norms = [zero if t is None else next(it).to(dev) for t in tensors]
        return norms

    def _layer_norms(self, per_param: list[torch.Tensor], parts: int) -> torch.Tensor:
        """(parts·L,) per-layer L2 norms of ``parts`` lists of per-parameter norms laid end to
        end: one stack, one square, one index_add, one sqrt."""
        stacked = torch.stack(per_param)
        dev = stacked.device
        index = self._layer_index.get((dev, parts))
        if index is None:
            L, base = len(self._layer_mods), self._layer_of_param
            flat = [i + j * L for j in range(parts) for i in base]
            index = self._layer_index[(dev, parts)] = torch.tensor(flat, device=dev)
        out = torch.zeros(parts * len(self._layer_mods), device=dev)
        return out.index_add_(0, index, stacked.square()).sqrt_()

    def _record(self, k: int, st: dict[str, Any]) -> None:
        before = self._before
        with torch.no_grad():
            weights = _norms(before)
            torch._foreach_sub_(before, [p.detach() for p in self._params])  # −Δ: same norm
            delta = _norms(before)
        dev = st["pre"][0].device
        if any(n.device != dev for n in itertools.chain(weights, delta)):
            weights, delta = [n.to(dev) for n in weights], [n.to(dev) for n in delta]
        now = st["now"]
        per_param = st["pre"] + (now if now is not None else []) + weights + delta
        norms = self._layer_norms(per_param, 4 if now is not None else 3)
        calls, lengths, counts = _shares(self._sat)
        parts = [norms] + ([counts.to(norms.device)] if counts is not None else [])
        scale = st["scale"]
        if isinstance(scale, torch.Tensor):
            parts.append(scale.reshape(1).to(norms.device))
        if len(parts) > 1:  # float64: the counts stay exact
            parts = [t.double() for t in parts]
        values = torch.cat(parts).tolist()  # the one device sync of the step
        if isinstance(scale, torch.Tensor):
            scale = values.pop()
        L, n = len(self._layer_mods), 4 if now is not None else 3
        blocks = [values[i * L : (i + 1) * L] for i in range(n)]
        if now is None:  # the gradients did not change between backward and step
            blocks.insert(1, blocks[0])
        pre, now, weights, delta_n = blocks
        inv = 1.0 / scale if scale else 1.0
        grads = [g * inv for g in pre]
        self._emit_layers(k, grads, st["has_grad"], weights, delta_n)
        total = math.sqrt(sum(g * g for g in grads))
        total_now = math.sqrt(sum(g * g for g in now))
        run = self.run
        run.add(k, "grad_norm_total", 0, total)
        clipped = (
            st["changed"] and math.isfinite(total) and total_now < total * (1 - CLIP_TOLERANCE)
        )
        run.add(k, "clipped", 0, float(clipped))
        per_module: dict[int, list[float]] = {}
        done = 0.0  # running count of saturated units before this call
        for i, size, upto in zip(calls, lengths, values[n * L :]):
            per_module.setdefault(i, []).append((upto - done) / size)
            done = upto
        for idx, i in enumerate(self._act_order, start=1):
            if i in per_module:
                run.add(k, "saturation", idx, sum(per_module[i]) / len(per_module[i]))
        run.add(k, "wall_s", 0, time.perf_counter() - self._t0)
        self._sat = {}
        self._prev_recorded, self._last_recorded = self._last_recorded, k

    def _emit_layers(self, k: int, grads, has_grad, weights, deltas) -> None:
        add, bad_layer = self.run.add, None
        for idx, (g, has, w, d) in enumerate(zip(grads, has_grad, weights, deltas), start=1):
            add(k, "weight_norm", idx, w)
            add(k, "update_ratio", idx, d / max(w, 1e-12))
            if not has:
                continue  # no gradient reached this layer at this step: no row
            add(k, "grad_norm", idx, g)
            add(k, "grad_to_weight", idx, g / max(w, 1e-12))
            if not math.isfinite(g) and bad_layer is None:
                bad_layer = idx
        if bad_layer is not None:  # the first NaN/inf came after the last recorded step
            self.run.mark_diverged(k, bad_layer, self._last_recorded)


def _remove(handles: list) -> None:
    """Remove hooks (in place: the list is emptied)."""
    for h in handles:
        h.remove()
    handles.clear()


def _scalar(key: str, value: Any) -> float:
    """A logged value as a float: a number or a one-element tensor (read here: one sync)."""
    if key in RESERVED:
        raise ValueError(f"log: '{key}' is an instrument's name; choose another")
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"log: '{key}' has {value.numel()} elements, not one")
        return float(value.detach().float().item())
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        and not hasattr(value, "__float__")
    ):
        raise TypeError(f"log: '{key}' is a {type(value).__name__}, not a number")
    return float(value)


def _norms(tensors: list[torch.Tensor]) -> list[torch.Tensor]:
    """L2 norms of many tensors in one batched call, in float32 whatever their dtype."""
    if not tensors:
        return []
    with torch.no_grad():
        if all(t.dtype == torch.float32 for t in tensors):  # (dtype= takes a slower path)
            return list(torch._foreach_norm(tensors))
        return list(torch._foreach_norm(tensors, 2, dtype=torch.float32))


def _shares(
    flags: dict[int, list[torch.Tensor]],
) -> tuple[list[int], list[int], torch.Tensor | None]:
    """(module of each forward call, each call's unit count, the running count of saturated
    units at the end of each call): all calls of all modules in a few ops, whatever their number
    (a segment mean costs more). A bool tensor holds saturated flags; a float one (ReLU-like) each
    unit's largest pre-activation over the batch, dead when ≤ 0: compared in one op, after one
    cat. The count is a float64 cumulative sum of 0/1 flags: exact (below 2**53 units)."""
    items = [(i, f) for i, fs in flags.items() for f in fs if f.numel()]
    if not items or len({f.device for _, f in items}) > 1:
        return [], [], None
    maxima = [(i, f) for i, f in items if f.dtype != torch.bool]
    bools = [(i, f) for i, f in items if f.dtype == torch.bool]
    items = maxima + bools
    parts = []
    if maxima:
        parts.append(torch.cat([f.reshape(-1) for _, f in maxima]).le(0))
    if bools:
        parts.append(torch.cat([f.reshape(-1) for _, f in bools]))
    lengths = [f.numel() for _, f in items]
    ends = list(itertools.accumulate(lengths))
    cat = parts[0] if len(parts) == 1 else torch.cat(parts)
    running = cat.cumsum(0, dtype=torch.float64)
    at = torch.tensor([e - 1 for e in ends], device=cat.device)
    return [i for i, _ in items], lengths, running.index_select(0, at)


def watch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    every: int = 10,
    name: str | None = None,
    out: str | None = None,
    scaler: Any = None,
    store: bool | str = True,
    saturation_every: int | None = None,
) -> Watch:
    """Record the lab's gradient instruments while ``model`` trains with ``optimizer``.

    Every ``every`` optimizer steps: per layer (modules with parameters, named as
    ``model.named_modules()`` names them, in forward order) the gradient norm, weight norm and
    update-to-weight ratio; the global gradient norm before clipping and whether the loop
    clipped; the saturated/dead share of activation modules; the first non-finite gradient; the
    scalars passed to ``log``. ``out``: a directory for metrics.csv, summary.csv and config.json
    (the CLI's formats). ``store``: save the run in the dashboard's run store (True: GFL_STORE
    or the default path; a path; False: not at all). ``scaler``: the loop's GradScaler, so the
    recorded norms are the unscaled ones. ``saturation_every``: record saturation only every
    this many steps (a multiple of ``every``; default ``every``): its hooks on every activation
    module are the costliest part of a recorded step on a small model.
    """
    return Watch(
        model,
        optimizer,
        every=every,
        name=name,
        out=out,
        scaler=scaler,
        store=store,
        saturation_every=saturation_every,
    )
