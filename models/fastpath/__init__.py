"""The fast path: hand-written backward passes, an accelerator beneath the trainer (autograd is the reference)."""
