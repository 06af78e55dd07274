"""Turn the binding table of ``partner_tui.core.bindings`` into Textual bindings."""

from __future__ import annotations

from textual.binding import Binding, BindingsMap
from textual.dom import DOMNode

from partner_tui.core.bindings import BindingSpec, bindings_for


def to_binding(spec: BindingSpec, language: str) -> Binding:
    return Binding(
        spec.keys,
        spec.action,
        spec.label(language),
        show=spec.show,
        id=spec.id,
        priority=spec.priority,
    )


def textual_bindings(scope: str, language: str = "nb") -> list[Binding]:
    return [to_binding(spec, language) for spec in bindings_for(scope)]


def install_bindings(node: DOMNode, scope: str, language: str = "nb") -> None:
    """Give ``node`` the bindings of ``scope`` (labels in ``language``), on top of its own."""
    extra = BindingsMap(textual_bindings(scope, language))
    for key, bindings in extra.key_to_bindings.items():
        node._bindings.key_to_bindings[key] = list(bindings)
