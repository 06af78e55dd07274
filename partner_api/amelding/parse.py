"""Reader for a-meldinger (the monthly employer report to Skatteetaten).

Accepts both encodings of the same information model:

* JSON as used by Skatteetaten's REST API: root ``{"leveranse": {...}}``, decimals as strings or
  numbers, integers as numbers.
* XML in namespace ``urn:ske:fastsetting:innsamling:a-meldingen:v2_1`` … ``v2_3``: root
  ``melding`` containing ``Leveranse``, element names as in the XSD.

The format is detected from the content, never from the file name, because users rename files.
Both encodings are read through one small node interface, so the semantic extraction below exists
once and the two cannot drift apart. Error paths use the JSON spelling (``leveranse.oppgave…``)
for XML too, so a message means the same thing whichever encoding the user uploaded.

Every problem with the input surfaces as :class:`AmeldingError` naming the offending field; the
importer shows it to the user as is. Organisation-number check digits are deliberately *not*
validated here (Skatteetaten's own example uses numbers that fail them); that is the importer's
call.
"""

from __future__ import annotations

import codecs
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, localcontext
from typing import Any, TypeVar
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as SafeET

from partner_api.norwegian_calendar import period_bounds

__all__ = [
    "MAX_AMELDING_BYTES",
    "XML_NAMESPACES",
    "AmeldingError",
    "Employment",
    "IncomeRecipient",
    "ParsedAmelding",
    "parse_amelding",
]

# Far above any real monthly report for a small or medium client (Skatteetaten's own file-upload
# API starts at 10 MB), while keeping a hostile upload from exhausting memory.
MAX_AMELDING_BYTES = 20 * 1024 * 1024

XML_NAMESPACES: dict[str, str] = {
    f"urn:ske:fastsetting:innsamling:a-meldingen:{v}": v for v in ("v2_1", "v2_2", "v2_3")
}

JSON_SCHEMA_VERSION = "json"

# Employment type that by definition is *not* an employment ("pension and other benefits without
# an employment relationship"); such recipients must not be counted as employees.
_NOT_AN_EMPLOYMENT = frozenset({"pensjonOgAndreTyperYtelserUtenAnsettelsesforhold"})

_PERIOD_RE = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
# xsd:date allows an optional time zone; a calendar date's meaning does not depend on it.
_DATE_RE = re.compile(r"(\d{4}-\d{2}-\d{2})(Z|[+-]\d{2}:\d{2})?")
_DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?")
# xsd:decimal lexical space. Checked before Decimal() because Decimal also takes "NaN",
# "Infinity", "1e5" and surrounding whitespace, none of which an a-melding amount may be.
_DECIMAL_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
# Longer than any money amount; stops a megabyte-long digit string from reaching Decimal.
_MAX_NUMBER_CHARS = 40
_IDENTIFIKATOR_RE = re.compile(r"[0-9a-zA-Z_.-]{1,150}")
_ORGNR_RE = re.compile(r"[0-9]{9}")
_NATIONAL_ID_RE = re.compile(r"[0-9]{11}")

_ORE = Decimal("0.01")
_ZERO = Decimal(0)
_HUNDRED = Decimal(100)


class AmeldingError(ValueError):
    """The input is not a readable a-melding. ``field`` is a path such as
    ``leveranse.oppgave.virksomhet[0].inntektsmottaker[2].inntekt[1].beloep``, or ``""`` when the
    problem concerns the file as a whole."""

    def __init__(self, source: str, field: str, message: str) -> None:
        super().__init__(source, field, message)
        self.source = source
        self.field = field
        self.message = message

    def __str__(self) -> str:
        if self.field:
            return f"{self.source}: {self.field}: {self.message}"
        return f"{self.source}: {self.message}"


# --------------------------------------------------------------------------------------------
# Result model


@dataclass(frozen=True)
class Employment:
    """One ``arbeidsforhold`` of an income recipient."""

    arbeidsforhold_id: str | None
    employment_type: str | None
    start_date: date | None
    end_date: date | None
    position_percent: Decimal | None

    def is_active_during(self, period_start: date, period_end: date) -> bool:
        """True if the employment covers at least one day of ``[period_start, period_end]``.

        A missing start or end date means open-ended on that side, so an employment with no dates
        at all counts as active.
        """
        if self.employment_type in _NOT_AN_EMPLOYMENT:
            return False
        starts_in_time = self.start_date is None or self.start_date <= period_end
        not_ended_before = self.end_date is None or self.end_date >= period_start
        return starts_in_time and not_ended_before


@dataclass(frozen=True)
class IncomeRecipient:
    """One ``inntektsmottaker`` under one virksomhet. The same person reported under two
    virksomheter appears twice."""

    national_id: str | None
    name: str | None
    employments: tuple[Employment, ...]
    cash_salary: Decimal
    withholding: Decimal
    virksomhet_orgnr: str
    # "land:identifikator" of the first internasjonalIdentifikator, for recipients reported
    # without a Norwegian id; lets them still be told apart when counting.
    international_id: str | None = None

    def is_employed_during(self, period_start: date, period_end: date) -> bool:
        """True if any employment overlaps the period (see :meth:`Employment.is_active_during`)."""
        return any(e.is_active_during(period_start, period_end) for e in self.employments)


@dataclass(frozen=True)
class ParsedAmelding:
    """The figures the partner system needs from one a-melding (one leveranse)."""

    period: str
    meldings_id: str
    replaces_meldings_id: str | None
    opplysningspliktig_orgnr: str
    virksomhet_orgnrs: tuple[str, ...]
    delivered_at: datetime | None
    income_recipients: tuple[IncomeRecipient, ...]
    # Σ inntekt.beloep with fordel "kontantytelse" on a loennsinntekt: paid-out wages, excluding
    # benefits in kind, expense allowances and pensions/benefits.
    cash_salary: Decimal
    # Positive: the file carries forskuddstrekk as negative amounts.
    withholding: Decimal
    # Employer contribution as declared (sumArbeidsgiveravgift), else computed and floored.
    aga: Decimal
    # Employer contribution recomputed from the bases and rates, to the øre, for cross-checking.
    aga_computed: Decimal
    finansskatt: Decimal
    withholding_per_payout: tuple[tuple[date, Decimal], ...]
    schema_version: str

    def active_employee_count(self) -> int:
        """Distinct people with an employment active on any day of :attr:`period`."""
        first, last = period_bounds(self.period)
        keys: set[object] = set()
        for r in self.income_recipients:
            if r.is_employed_during(first, last):
                # Without any identifier a recipient can only be counted as itself.
                keys.add(r.national_id or r.international_id or id(r))
        return len(keys)


# --------------------------------------------------------------------------------------------
# Encoding-neutral access to the document tree


class _Node(ABC):
    """A position in the parsed document, aware of its path for error messages.

    A node made by ``child``/``children`` builds its path only when asked (for an error): a
    valid file is read without building a path string for each of its values.
    """

    __slots__ = ("_index", "_name", "_parent", "_path", "source")

    def __init__(self, source: str, path: str) -> None:
        self.source = source
        self._path: str | None = path
        self._parent: _Node | None = None
        self._name = ""
        self._index = -1

    @property
    def path(self) -> str:
        path = self._path
        if path is None:
            assert self._parent is not None
            path = f"{self._parent.path}.{self._name}"
            if self._index >= 0:
                path = f"{path}[{self._index}]"
            self._path = path
        return path

    def error(self, message: str, field: str | None = None) -> AmeldingError:
        return AmeldingError(self.source, self.path if field is None else field, message)

    def sub_path(self, name: str) -> str:
        return f"{self.path}.{name}"

    @abstractmethod
    def child(self, name: str) -> _Node | None:
        """The single child ``name``; None if absent. Error if it is repeated."""

    @abstractmethod
    def children(self, name: str) -> list[_Node]:
        """All children ``name`` (a repeated element / JSON array); empty if absent."""

    @abstractmethod
    def scalar(self) -> str | int | Decimal:
        """The leaf value. XML always gives str; JSON may give int or Decimal for numbers."""

    def require(self, name: str) -> _Node:
        node = self.child(name)
        if node is None:
            raise self.error("missing", self.sub_path(name))
        return node


class _JsonNode(_Node):
    __slots__ = ("value",)

    def __init__(self, source: str, path: str, value: object) -> None:
        super().__init__(source, path)
        self.value = value

    def _at(self, value: object, name: str, index: int = -1) -> _JsonNode:
        """The child node ``name`` (item ``index`` of it) holding ``value``; path left unbuilt.

        This runs for every value of every file, so it sets the fields itself."""
        node = _JsonNode.__new__(_JsonNode)
        node.source = self.source
        node._path = None
        node._parent = self
        node._name = name
        node._index = index
        node.value = value
        return node

    def _object(self) -> dict[str, Any]:
        if not isinstance(self.value, dict):
            raise self.error(f"expected an object, got {_json_type(self.value)}")
        return self.value

    # Exact ``type(x) is dict`` (``str``, ``Decimal``, ``int``) checks first: json.loads makes
    # exactly these types and the check is cheaper than isinstance; anything else (a bool, say)
    # takes the full check as before.

    def child(self, name: str) -> _Node | None:
        obj = self.value if type(self.value) is dict else self._object()
        value = obj.get(name)
        if value is None:  # null is how some serialisers write an absent optional field
            return None
        if isinstance(value, list):
            raise self.error("expected a single value, got an array", self.sub_path(name))
        return self._at(value, name)

    def children(self, name: str) -> list[_Node]:
        obj = self.value if type(self.value) is dict else self._object()
        value = obj.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(f"expected an array, got {_json_type(value)}", self.sub_path(name))
        return [self._at(v, name, i) for i, v in enumerate(value)]

    def scalar(self) -> str | int | Decimal:
        v = self.value
        kind = type(v)
        if kind is str or kind is Decimal or kind is int:
            return v  # type: ignore[return-value]  # narrowed by the exact type check
        # bool is an int subclass; true/false is never a valid amount, date or identifier here.
        if isinstance(v, str | Decimal) or (isinstance(v, int) and not isinstance(v, bool)):
            return v
        raise self.error(f"expected a value, got {_json_type(v)}")


class _XmlNode(_Node):
    __slots__ = ("element", "namespace")

    def __init__(self, source: str, path: str, element: Element, namespace: str) -> None:
        super().__init__(source, path)
        self.element = element
        self.namespace = namespace

    def _find(self, name: str) -> list[Element]:
        return self.element.findall(f"{{{self.namespace}}}{name}")

    def child(self, name: str) -> _Node | None:
        found = self._find(name)
        if not found:
            return None
        if len(found) > 1:
            raise self.error(f"expected one element, found {len(found)}", self.sub_path(name))
        return _XmlNode(self.source, self.sub_path(name), found[0], self.namespace)

    def children(self, name: str) -> list[_Node]:
        path = self.sub_path(name)
        return [
            _XmlNode(self.source, f"{path}[{i}]", el, self.namespace)
            for i, el in enumerate(self._find(name))
        ]

    def scalar(self) -> str | int | Decimal:
        if len(self.element):
            raise self.error("expected a simple value, found child elements")
        # The XSD types used here all collapse whitespace, so surrounding blanks are not content.
        return (self.element.text or "").strip()


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    return "a number"


# --------------------------------------------------------------------------------------------
# Leaf conversions


def _text(node: _Node) -> str:
    v = node.scalar()
    if not isinstance(v, str):
        # A number would already have lost leading zeros (e.g. a national id starting with 0).
        raise node.error("expected a string, got a number")
    return v


def _nonempty_text(node: _Node) -> str:
    v = _text(node)
    if not v:
        raise node.error("empty")
    return v


def _decimal(node: _Node) -> Decimal:
    v = node.scalar()
    if isinstance(v, Decimal):
        # Only json's parse_float produces these, so the lexical form was already a JSON number;
        # NaN/Infinity are refused at load time.
        return v
    if isinstance(v, int):
        return Decimal(v)
    if len(v) > _MAX_NUMBER_CHARS or not _DECIMAL_RE.fullmatch(v):
        shown = v if len(v) <= _MAX_NUMBER_CHARS else v[:_MAX_NUMBER_CHARS] + "…"
        raise node.error(f"not a number: {shown!r}")
    return Decimal(v)


def _whole_amount(node: _Node) -> Decimal:
    """BeloepSomHeltall: whole kroner. ``-17022.0`` is tolerated, ``-17022.5`` is not."""
    v = _decimal(node)
    if v != v.to_integral_value():
        raise node.error(f"must be a whole number, got {v}")
    return v


def _date(node: _Node) -> date:
    v = _text(node)
    m = _DATE_RE.fullmatch(v)
    if m is None:
        raise node.error(f"not an ISO date (YYYY-MM-DD): {v[:40]!r}")
    try:
        return date.fromisoformat(m.group(1))
    except ValueError:
        raise node.error(f"no such date: {v!r}") from None


def _datetime(node: _Node) -> datetime:
    v = _text(node)
    if not _DATETIME_RE.fullmatch(v):
        raise node.error(f"not an ISO date-time: {v[:40]!r}")
    try:
        return datetime.fromisoformat(v)
    except ValueError:
        raise node.error(f"no such date-time: {v!r}") from None


def _orgnr(node: _Node) -> str:
    v = _text(node)
    if not _ORGNR_RE.fullmatch(v):
        raise node.error(f"organisation number must be 9 digits, got {v[:40]!r}")
    return v


def _national_id(node: _Node) -> str:
    v = _text(node)
    if not _NATIONAL_ID_RE.fullmatch(v):
        # Only the length is shown: the value may be a (malformed) personal id.
        raise node.error(f"national id must be 11 digits, got {len(v)} characters")
    return v


def _identifikator(node: _Node) -> str:
    v = _text(node)
    if not _IDENTIFIKATOR_RE.fullmatch(v):
        raise node.error("must be 1-150 characters of 0-9 a-z A-Z _ . -")
    return v


_T = TypeVar("_T")


def _opt(node: _Node, name: str, convert: Callable[[_Node], _T]) -> _T | None:
    child = node.child(name)
    return None if child is None else convert(child)


# --------------------------------------------------------------------------------------------
# Semantic extraction (shared by both encodings)


def _parse_employment(node: _Node) -> Employment:
    return Employment(
        arbeidsforhold_id=_opt(node, "arbeidsforholdId", _text),
        employment_type=_opt(node, "typeArbeidsforhold", _text),
        start_date=_opt(node, "startdato", _date),
        end_date=_opt(node, "sluttdato", _date),
        position_percent=_opt(node, "stillingsprosent", _decimal),
    )


def _is_cash_salary(inntekt: _Node) -> bool:
    fordel = _text(inntekt.require("fordel"))
    return fordel == "kontantytelse" and inntekt.child("loennsinntekt") is not None


def _parse_recipient(node: _Node, virksomhet_orgnr: str) -> IncomeRecipient:
    international_id = None
    for intl in node.children("internasjonalIdentifikator"):
        ident = _text(intl.require("identifikator"))
        land = _opt(intl, "land", _text) or ""
        international_id = f"{land}:{ident}"
        break
    info = node.child("identifiserendeInformasjon")
    cash = _ZERO
    for inntekt in node.children("inntekt"):
        # Every amount is parsed, counted or not, so a malformed one is reported, not skipped.
        beloep = _decimal(inntekt.require("beloep"))
        if _is_cash_salary(inntekt):
            cash += beloep
    withheld = _ZERO
    for trekk in node.children("forskuddstrekk"):
        withheld -= _whole_amount(trekk.require("beloep"))
    return IncomeRecipient(
        national_id=_opt(node, "norskIdentifikator", _national_id),
        name=None if info is None else _opt(info, "navn", _text),
        employments=tuple(_parse_employment(a) for a in node.children("arbeidsforhold")),
        cash_salary=cash,
        withholding=withheld,
        virksomhet_orgnr=virksomhet_orgnr,
        international_id=international_id,
    )


def _basis_times_rate(node: _Node, amount_field: str) -> Decimal:
    amount = _decimal(node.require(amount_field))
    rate = _decimal(node.require("prosentsatsForAvgiftsberegning"))
    return amount * rate / _HUNDRED


def _aga_from_bases(arbeidsgiveravgift: _Node) -> Decimal:
    """Unrounded employer contribution of one virksomhet, from its declared bases and rates."""
    total = _ZERO
    for group in ("loennOgGodtgjoerelse", "tilskuddOgPremieTilPensjon"):
        for grunnlag in arbeidsgiveravgift.children(group):
            total += _basis_times_rate(grunnlag, "avgiftsgrunnlagBeloep")
    # Deductions in the basis are declared with the rate they reduce; leaving them out would
    # overstate the cross-check for every employer that uses them.
    for fradrag in arbeidsgiveravgift.children("fradragIGrunnlagetForSone"):
        total -= _basis_times_rate(fradrag, "avgiftsfradragBeloep")
    saerskilt = arbeidsgiveravgift.child("utenlandskeMedSaerskiltProsentsats")
    if saerskilt is not None:
        total += _basis_times_rate(saerskilt, "avgiftsgrunnlagBeloep")
    fast = arbeidsgiveravgift.child("utenlandskeMedFastAvgiftsbeloep")
    if fast is not None:
        persons = _whole_amount(fast.require("antallAvgiftsgrunnlagPersoner"))
        total += persons * _decimal(fast.require("beloepssatsForAvgiftsberegning"))
    fradrag_utl = arbeidsgiveravgift.child("fradragIGrunnlagetForUtenlandsk")
    if fradrag_utl is not None:
        total -= _basis_times_rate(fradrag_utl, "avgiftsfradragBeloep")
    return total


def _parse_leveranse(lev: _Node, schema_version: str) -> ParsedAmelding:
    period_node = lev.require("kalendermaaned")
    period = _text(period_node)
    if not _PERIOD_RE.fullmatch(period):
        raise period_node.error(f"must be YYYY-MM, got {period[:40]!r}")

    meldings_id = _identifikator(lev.require("meldingsId"))
    replaces = _opt(lev, "erstatterMeldingsId", _identifikator)
    opplysningspliktig = _orgnr(lev.require("opplysningspliktig").require("norskIdentifikator"))
    delivered_at = _opt(lev, "leveringstidspunkt", _datetime)

    oppgave = lev.require("oppgave")
    recipients: list[IncomeRecipient] = []
    virksomhet_orgnrs: list[str] = []
    aga_sum = _ZERO
    for virksomhet in oppgave.children("virksomhet"):
        orgnr = _orgnr(virksomhet.require("norskIdentifikator"))
        virksomhet_orgnrs.append(orgnr)
        recipients.extend(
            _parse_recipient(r, orgnr) for r in virksomhet.children("inntektsmottaker")
        )
        aga_node = virksomhet.child("arbeidsgiveravgift")
        if aga_node is not None:
            aga_sum += _aga_from_bases(aga_node)

    declared_aga: Decimal | None = None
    finansskatt = _ZERO
    per_payout: list[tuple[date, Decimal]] = []
    betaling = oppgave.child("betalingsinformasjon")
    if betaling is not None:
        declared_aga = _opt(betaling, "sumArbeidsgiveravgift", _whole_amount)
        finansskatt = _opt(betaling, "sumFinansskattLoenn", _whole_amount) or _ZERO
        for entry in betaling.children("sumForskuddstrekkPerLoennsutbetalingsdato"):
            per_payout.append(
                (
                    _date(entry.require("loennsutbetalingsdato")),
                    _whole_amount(entry.require("beloep")),
                )
            )

    return ParsedAmelding(
        period=period,
        meldings_id=meldings_id,
        replaces_meldings_id=replaces,
        opplysningspliktig_orgnr=opplysningspliktig,
        virksomhet_orgnrs=tuple(virksomhet_orgnrs),
        delivered_at=delivered_at,
        income_recipients=tuple(recipients),
        cash_salary=sum((r.cash_salary for r in recipients), _ZERO),
        withholding=sum((r.withholding for r in recipients), _ZERO),
        aga=(
            declared_aga
            if declared_aga is not None
            else aga_sum.to_integral_value(rounding=ROUND_FLOOR)
        ),
        aga_computed=aga_sum.quantize(_ORE, rounding=ROUND_HALF_UP),
        finansskatt=finansskatt,
        withholding_per_payout=tuple(per_payout),
        schema_version=schema_version,
    )


# --------------------------------------------------------------------------------------------
# Entry point


def _first_significant_char(data: bytes) -> str:
    """The first non-whitespace character, tolerating a UTF-8 or UTF-16 byte-order mark."""
    head = data[:4096]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = head.decode("utf-16", errors="ignore")
    else:
        text = head.removeprefix(codecs.BOM_UTF8).decode("utf-8", errors="ignore")
    stripped = text.lstrip(" \t\r\n")
    return stripped[:1]


def _reject_json_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _load_json(data: bytes, source: str) -> _Node:
    try:
        # Given bytes, json detects UTF-8/16/32 and a UTF-8 BOM itself. Decimal keeps JSON
        # numbers exact (23989.5 must not become a binary float).
        doc = json.loads(data, parse_float=Decimal, parse_constant=_reject_json_constant)
    except (ValueError, RecursionError) as exc:
        # ValueError covers JSONDecodeError, UnicodeDecodeError and over-long integers;
        # RecursionError absurdly deep nesting.
        raise AmeldingError(source, "", f"not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise AmeldingError(
            source, "", f"not an a-melding: expected a JSON object, got {_json_type(doc)}"
        )
    lev = doc.get("leveranse")
    if lev is None:
        raise AmeldingError(source, "leveranse", "missing (not an a-melding)")
    node = _JsonNode(source, "leveranse", lev)
    if not isinstance(lev, dict):
        raise node.error(f"expected an object, got {_json_type(lev)}")
    return node


def _load_xml(data: bytes, source: str) -> tuple[_Node, str]:
    try:
        # An a-melding never has a DTD, so refuse any: that rules out entity expansion
        # ("billion laughs") and external entities (XXE) before they can be processed.
        root = SafeET.fromstring(data, forbid_dtd=True)
    except defusedxml.DefusedXmlException as exc:
        raise AmeldingError(
            source, "", f"XML with a DTD or entities is not accepted ({type(exc).__name__})"
        ) from None
    except (ParseError, LookupError, ValueError) as exc:
        # LookupError: an encoding declaration Python does not know ("encoding='bogus'").
        raise AmeldingError(source, "", f"not well-formed XML: {exc}") from None
    tag: str = root.tag
    namespace, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    version = XML_NAMESPACES.get(namespace)
    if version is None:
        known = ", ".join(sorted(XML_NAMESPACES))
        raise AmeldingError(
            source,
            local,
            f"not an a-melding: namespace {namespace or '(none)'!r}, expected one of {known}",
        )
    if local != "melding":
        raise AmeldingError(source, local, "not an a-melding: root element must be 'melding'")
    leveranser = root.findall(f"{{{namespace}}}Leveranse")
    if len(leveranser) != 1:
        message = "missing" if not leveranser else f"expected one, found {len(leveranser)}"
        raise AmeldingError(source, "leveranse", message)
    return _XmlNode(source, "leveranse", leveranser[0], namespace), version


def parse_amelding(data: bytes, source: str) -> ParsedAmelding:
    """Parse one a-melding file. ``source`` (usually the file name) prefixes error messages.

    Raises :class:`AmeldingError` for anything that is not a well-formed a-melding.
    """
    if len(data) > MAX_AMELDING_BYTES:
        raise AmeldingError(
            source, "", f"file is {len(data)} bytes, over the {MAX_AMELDING_BYTES} byte limit"
        )
    first = _first_significant_char(data)
    if first in ("{", "["):
        # "[" is read as JSON too, so a JSON array is reported as "not an a-melding" rather
        # than "not JSON".
        lev = _load_json(data, source)
        version = JSON_SCHEMA_VERSION
    elif first == "<":
        lev, version = _load_xml(data, source)
    elif not first:
        raise AmeldingError(source, "", "empty file")
    else:
        raise AmeldingError(source, "", "not an a-melding: neither JSON nor XML")
    # Decimal arithmetic on amounts of up to _MAX_NUMBER_CHARS digits must stay exact; the
    # default 28-digit context would silently round a product of two long numbers.
    with localcontext() as ctx:
        ctx.prec = 4 * _MAX_NUMBER_CHARS
        return _parse_leveranse(lev, version)
