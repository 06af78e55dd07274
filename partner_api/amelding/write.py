"""Writer for small, valid-looking a-meldinger, used by the demo data generator and by tests.

It covers only what the demo needs (one virksomhet, wages, ordinary withholding, one AGA basis)
and mirrors the shape of Skatteetaten's published JSON example
(``samples/amelding/skatteetaten-docs/amelding-filopplasting-request.example.json``): decimals as
strings, whole-krone amounts as numbers, withholding negative. The XML form (namespace v2_3)
exists so tests can prove that both encodings parse to the same figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import ROUND_FLOOR, Decimal
from typing import Any
from xml.etree import ElementTree as ET  # building only; parsing untrusted XML uses defusedxml

__all__ = [
    "KILDESYSTEM",
    "XML_NAMESPACE_V2_3",
    "AmeldingDocument",
    "AmeldingEmployment",
    "AmeldingRecipient",
    "amelding_to_json",
    "amelding_to_xml",
    "leveranse_to_xml",
]

KILDESYSTEM = "partner-tui demo"
XML_NAMESPACE_V2_3 = "urn:ske:fastsetting:innsamling:a-meldingen:v2_3"

# Skatteetaten's example lists the leveranse fields in this order (not the XSD's); JSON readers do
# not care, but matching it keeps generated files easy to diff against the reference.
_JSON_LEVERANSE_ORDER = (
    "kildesystem",
    "opplysningspliktig",
    "meldingsId",
    "erstatterMeldingsId",
    "oppgave",
    "leveringstidspunkt",
    "kalendermaaned",
)


@dataclass(frozen=True, kw_only=True)
class AmeldingEmployment:
    arbeidsforhold_id: str
    start_date: date
    end_date: date | None = None
    position_percent: Decimal = Decimal(100)
    employment_type: str = "ordinaertArbeidsforhold"


@dataclass(frozen=True, kw_only=True)
class AmeldingRecipient:
    national_id: str
    employments: Sequence[AmeldingEmployment] = ()
    # (loennsinntekt.beskrivelse, beloep), e.g. ("fastloenn", Decimal("42000.00")); all written
    # as kontantytelse that triggers AGA and counts towards the withholding basis.
    salary_lines: Sequence[tuple[str, Decimal]] = ()
    # Positive whole kroner; written negative, as the format requires.
    withholding: Decimal = Decimal(0)


@dataclass(frozen=True, kw_only=True)
class AmeldingDocument:
    period: str
    meldings_id: str
    opplysningspliktig: str
    virksomhet: str
    payout_date: date
    recipients: Sequence[AmeldingRecipient] = field(default_factory=tuple)
    replaces: str | None = None
    # None: the sum of all salary lines, which is the AGA basis when every line triggers AGA.
    aga_grunnlag: Decimal | None = None
    aga_sone: str = "1"
    aga_sats: Decimal = Decimal("14.1")
    aga_beregningskode: str = "generelleNaeringer"
    # None: noon UTC on the payout date, so generated files are reproducible (no clock reads).
    delivered_at: datetime | None = None

    def total_salary(self) -> Decimal:
        return sum((b for r in self.recipients for _, b in r.salary_lines), Decimal(0))

    def total_withholding(self) -> Decimal:
        return sum((r.withholding for r in self.recipients), Decimal(0))

    def effective_aga_grunnlag(self) -> Decimal:
        return self.total_salary() if self.aga_grunnlag is None else self.aga_grunnlag

    def aga_amount(self) -> Decimal:
        """AGA as declared in sumArbeidsgiveravgift: basis × rate, floored to whole kroner."""
        exact = self.effective_aga_grunnlag() * self.aga_sats / Decimal(100)
        return exact.to_integral_value(rounding=ROUND_FLOOR)


def _decimal_str(d: Decimal) -> str:
    """Decimal as Skatteetaten's example writes it: plain notation, at least one decimal
    ("245428.0", "23989.5", "74.0")."""
    # String surgery rather than normalize()/quantize(), which round to the context precision.
    s = format(d, "f")
    if "." not in s:
        return s + ".0"
    s = s.rstrip("0")
    return s + "0" if s.endswith(".") else s


def _whole(d: Decimal, what: str) -> int:
    if d != d.to_integral_value():
        raise ValueError(f"{what} must be whole kroner, got {d}")
    return int(d)


def _employment(e: AmeldingEmployment) -> dict[str, Any]:
    out: dict[str, Any] = {
        "arbeidsforholdId": e.arbeidsforhold_id,
        "typeArbeidsforhold": e.employment_type,
        "startdato": e.start_date.isoformat(),
    }
    if e.end_date is not None:
        out["sluttdato"] = e.end_date.isoformat()
    out["stillingsprosent"] = _decimal_str(e.position_percent)
    return out


def _recipient(r: AmeldingRecipient) -> dict[str, Any]:
    # Keys in XSD sequence order: the XML writer emits them as they come.
    out: dict[str, Any] = {"norskIdentifikator": r.national_id}
    if r.employments:
        out["arbeidsforhold"] = [_employment(e) for e in r.employments]
    if r.withholding:
        out["forskuddstrekk"] = [
            {"beskrivelse": "ordinaert", "beloep": -_whole(r.withholding, "withholding")}
        ]
    if r.salary_lines:
        out["inntekt"] = [
            {
                "fordel": "kontantytelse",
                "utloeserArbeidsgiveravgift": True,
                "inngaarIGrunnlagForTrekk": True,
                "beloep": _decimal_str(beloep),
                "loennsinntekt": {"beskrivelse": beskrivelse},
            }
            for beskrivelse, beloep in r.salary_lines
        ]
    return out


def _leveranse(doc: AmeldingDocument) -> dict[str, Any]:
    """The leveranse in XSD element order (what XML needs)."""
    delivered = doc.delivered_at or datetime.combine(doc.payout_date, time(12), tzinfo=UTC)
    betaling: dict[str, Any] = {"sumArbeidsgiveravgift": int(doc.aga_amount())}
    total_withholding = _whole(doc.total_withholding(), "withholding")
    if total_withholding:
        # Mandatory from 2026: withholding is paid per pay-out, so it is reported per pay-out.
        betaling["sumForskuddstrekkPerLoennsutbetalingsdato"] = [
            {"loennsutbetalingsdato": doc.payout_date.isoformat(), "beloep": total_withholding}
        ]
    virksomhet: dict[str, Any] = {"norskIdentifikator": doc.virksomhet}
    if doc.recipients:
        virksomhet["inntektsmottaker"] = [_recipient(r) for r in doc.recipients]
    virksomhet["arbeidsgiveravgift"] = {
        "loennOgGodtgjoerelse": [
            {
                "beregningskodeForArbeidsgiveravgift": doc.aga_beregningskode,
                "sone": doc.aga_sone,
                "avgiftsgrunnlagBeloep": _decimal_str(doc.effective_aga_grunnlag()),
                "prosentsatsForAvgiftsberegning": _decimal_str(doc.aga_sats),
            }
        ]
    }
    lev: dict[str, Any] = {
        "leveringstidspunkt": delivered.isoformat(timespec="milliseconds"),
        "kalendermaaned": doc.period,
        "kildesystem": KILDESYSTEM,
    }
    if doc.replaces is not None:
        lev["erstatterMeldingsId"] = doc.replaces
    lev["meldingsId"] = doc.meldings_id
    lev["opplysningspliktig"] = {"norskIdentifikator": doc.opplysningspliktig}
    lev["oppgave"] = {"betalingsinformasjon": betaling, "virksomhet": [virksomhet]}
    return lev


def amelding_to_json(doc: AmeldingDocument) -> dict[str, Any]:
    """The a-melding as the JSON object Skatteetaten's REST API takes (``json.dumps`` it)."""
    lev = _leveranse(doc)
    ordered = {k: lev[k] for k in _JSON_LEVERANSE_ORDER if k in lev}
    return {"leveranse": ordered}


def _append(parent: ET.Element, ns: str, name: str, value: Any) -> None:
    if isinstance(value, list):
        for item in value:
            _append(parent, ns, name, item)
        return
    el = ET.SubElement(parent, f"{{{ns}}}{name}")
    if isinstance(value, dict):
        for k, v in value.items():
            _append(el, ns, k, v)
    elif isinstance(value, bool):
        el.text = "true" if value else "false"
    else:
        el.text = str(value)


def leveranse_to_xml(leveranse: dict[str, Any], namespace: str = XML_NAMESPACE_V2_3) -> bytes:
    """Render a ``leveranse`` in the JSON model as XML: the same names, arrays as repeated
    elements, root ``melding`` → ``Leveranse`` in ``namespace``."""
    root = ET.Element(f"{{{namespace}}}melding")
    _append(root, namespace, "Leveranse", leveranse)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True, default_namespace=namespace)


def amelding_to_xml(doc: AmeldingDocument) -> bytes:
    """The same a-melding as XML in namespace v2_3 (root ``melding`` → ``Leveranse``)."""
    return leveranse_to_xml(_leveranse(doc))
