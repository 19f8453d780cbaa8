"""A TrainerCallback that hands progress to plain callables, so the ML code stays Django-free."""
from transformers import TrainerCallback


class FunctionCallback(TrainerCallback):
    """on_log(step, metrics) after every log; should_stop() -> bool checked each step (cancellation)."""

    def __init__(self, on_log=None, should_stop=None):
        self._on_log = on_log
        self._should_stop = should_stop

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self._on_log and logs and state.is_world_process_zero:
            values = {k: float(v) for k, v in logs.items() if isinstance(v, (int, float))}
            values["max_steps"] = state.max_steps  # lets a page show "step 12 of 40" and the time left
            self._on_log(state.global_step, values)

    def on_step_end(self, args, state, control, **kwargs):
        if self._should_stop and self._should_stop():
            control.should_training_stop = True
            control.should_save = True
