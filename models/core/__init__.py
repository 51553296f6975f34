"""The engine core: config and its schema, nets, tasks, trainer, runner, budget, theory."""
