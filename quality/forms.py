from __future__ import annotations

from typing import Any

from django import forms


class CsatForm(forms.Form):
    score = forms.TypedChoiceField(
        choices=[(n, str(n)) for n in range(1, 6)],
        coerce=int,
        required=False,
        empty_value=None,
        widget=forms.RadioSelect,
    )
    solved = forms.TypedChoiceField(
        choices=[("yes", "Ya, sudah selesai"), ("no", "Belum selesai")],
        coerce=lambda value: value == "yes",
        required=False,
        empty_value=None,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(max_length=2000, required=False, widget=forms.Textarea)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("score") is None and data.get("solved") is None:
            raise forms.ValidationError("Pilih skor atau jawab apakah masalahnya sudah selesai.")
        return data
