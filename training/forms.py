from django import forms
from django.utils.translation import gettext_lazy as _

from annotation.models import DatasetSnapshot
from training.models import TrainingRun


class NewRunForm(forms.Form):
    """What a curator chooses to queue a run; the numbers become the trainer's options (MPOConfig fields)."""

    snapshot = forms.ModelChoiceField(DatasetSnapshot.objects.all(), required=False, to_field_name="name",
                                      help_text=_("A frozen dataset; its mpo export is what the run reads."))
    data_path = forms.CharField(required=False, max_length=500,
                                help_text=_("Or a folder already exported, as seen from the worker."))
    base_model = forms.CharField(max_length=500, help_text=_("Path of the base model folder on the worker."))
    method = forms.ChoiceField(choices=TrainingRun.Method.choices, initial=TrainingRun.Method.MPO)
    queue_name = forms.SlugField(initial="default", help_text=_("The queue a GPU node serves."))
    beta = forms.FloatField(initial=1.0, min_value=0.0, help_text=_("MPO beta (1.0 for LLaMA-3.1, 1.5 for Gemma-2)."))
    l2_weight = forms.FloatField(initial=1.0, min_value=0.0, label=_("lambda (English preservation)"))
    native_loss = forms.ChoiceField(choices=[("dpo", "DPO"), ("simpo", "SimPO"), ("none", _("drop those rows"))],
                                    initial="dpo", label=_("term for local-harm rows (no English anchor)"))
    native_weight = forms.FloatField(initial=1.0, min_value=0.0)
    learning_rate = forms.FloatField(initial=5e-7, min_value=0.0)
    num_train_epochs = forms.FloatField(initial=2.0, min_value=0.0)
    max_steps = forms.IntegerField(initial=-1, help_text=_("-1: as many as the epochs give."))
    per_device_train_batch_size = forms.IntegerField(initial=4, min_value=1, label=_("batch size per device"))
    save_steps = forms.IntegerField(initial=50, min_value=1, label=_("checkpoint every N steps"))
    lora_r = forms.IntegerField(initial=0, min_value=0, label=_("LoRA rank (0: full fine-tuning)"))

    OPTION_FIELDS = ("beta", "l2_weight", "native_loss", "native_weight", "learning_rate", "num_train_epochs",
                     "max_steps", "per_device_train_batch_size", "save_steps", "lora_r")

    def clean(self):
        data = super().clean()
        if not data.get("snapshot") and not data.get("data_path"):
            raise forms.ValidationError(_("Choose a snapshot or give an exported data folder."))
        return data

    def options(self):
        return {name: self.cleaned_data[name] for name in self.OPTION_FIELDS}
