"""Built-in dataset specs, shipped as YAML next to this module."""

from __future__ import annotations

from importlib import resources

from udo.domain.spec import DatasetSpec
from udo.errors import SpecError


def preset_names() -> list[str]:
    """Names of the built-in presets."""
    folder = resources.files(__package__)
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


def load_preset(name: str) -> DatasetSpec:
    """A built-in preset by name; `SpecError` naming the presets if unknown."""
    if name not in preset_names():
        raise SpecError(
            [("preset", f"unknown preset {name!r}; known: {', '.join(preset_names())}")]
        )
    text = resources.files(__package__).joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    return DatasetSpec.from_text(text, source=f"preset {name}")
