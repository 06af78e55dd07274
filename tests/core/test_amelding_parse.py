from __future__ import annotations

import codecs
import copy
import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from partner_api.amelding.parse import (
    MAX_AMELDING_BYTES,
    AmeldingError,
    Employment,
    IncomeRecipient,
    ParsedAmelding,
    parse_amelding,
)
from partner_api.amelding.write import (
    KILDESYSTEM,
    AmeldingDocument,
    AmeldingEmployment,
    AmeldingRecipient,
    amelding_to_json,
    amelding_to_xml,
    leveranse_to_xml,
)
from tests.samples import sample_path

EXAMPLE = "amelding/skatteetaten-docs/amelding-filopplasting-request.example.json"
NS = "urn:ske:fastsetting:innsamling:a-meldingen:{}"


def _example_bytes() -> bytes:
    return sample_path(EXAMPLE).read_bytes()


def _example_dict() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(_example_bytes())
    return loaded


def _json(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def _to_xml(doc: dict[str, Any], version: str = "v2_3") -> bytes:
    """Render the JSON model as XML in the given namespace version."""
    return leveranse_to_xml(doc["leveranse"], NS.format(version))


def _same_except_version(a: ParsedAmelding, b: ParsedAmelding) -> None:
    assert dataclasses.replace(a, schema_version="x") == dataclasses.replace(b, schema_version="x")


# --- Skatteetaten's published example ---------------------------------------------------------


def _check_example_figures(parsed: ParsedAmelding) -> None:
    assert parsed.period == "2026-01"
    assert parsed.meldings_id == "60656973-9df0-4e93-9e8e-9cf48d812be2"
    assert parsed.replaces_meldings_id is None
    assert parsed.opplysningspliktig_orgnr == "211785462"
    assert parsed.virksomhet_orgnrs == ("314768949",)
    assert parsed.delivered_at == datetime(2026, 1, 23, 14, 50, 35, 920000, tzinfo=UTC)
    # Employment 2026-01-31 .. 2026-02-28 overlaps the last day of January.
    assert parsed.active_employee_count() == 1
    # The naturalytelse pension line (1569.5) is not cash salary.
    assert parsed.cash_salary == Decimal("23989.5")
    assert parsed.withholding == Decimal("17022")
    assert parsed.aga == Decimal("34605")
    assert parsed.aga_computed == Decimal("34605.35")  # 245428.0 × 14.1 % = 34605.348
    assert parsed.finansskatt == Decimal("5289")
    assert parsed.withholding_per_payout == ((date(2026, 1, 20), Decimal("178485")),)

    (recipient,) = parsed.income_recipients
    assert recipient.national_id == "08842199736"
    assert recipient.name is None
    assert recipient.virksomhet_orgnr == "314768949"
    assert recipient.cash_salary == Decimal("23989.5")
    assert recipient.withholding == Decimal("17022")
    assert recipient.employments == (
        Employment(
            arbeidsforhold_id="ORDINAERT",
            employment_type="ordinaertArbeidsforhold",
            start_date=date(2026, 1, 31),
            end_date=date(2026, 2, 28),
            position_percent=Decimal("74.0"),
        ),
    )


def test_skatteetaten_example() -> None:
    parsed = parse_amelding(_example_bytes(), "example.json")
    _check_example_figures(parsed)
    assert parsed.schema_version == "json"


def test_skatteetaten_example_with_decimals_as_numbers() -> None:
    # The previous revision of the example wrote decimals as JSON numbers; both must work.
    decimal_keys = {
        "beloep",
        "stillingsprosent",
        "avgiftsgrunnlagBeloep",
        "prosentsatsForAvgiftsberegning",
        "antallTimerPerUkeSomEnFullStillingTilsvarer",
    }

    def numbers(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: float(v) if k in decimal_keys and isinstance(v, str) else numbers(v)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [numbers(v) for v in value]
        return value

    as_numbers = numbers(_example_dict())
    raw = _json(as_numbers)
    assert b'"23989.5"' not in raw and b"23989.5" in raw
    _check_example_figures(parse_amelding(raw, "example-numbers.json"))


@pytest.mark.parametrize("version", ["v2_1", "v2_2", "v2_3"])
def test_skatteetaten_example_as_xml_gives_the_same_parse(version: str) -> None:
    from_json = parse_amelding(_example_bytes(), "example.json")
    from_xml = parse_amelding(_to_xml(_example_dict(), version), "example.xml")
    assert from_xml.schema_version == version
    _same_except_version(from_json, from_xml)


def test_format_is_detected_from_content_not_name() -> None:
    parsed = parse_amelding(_to_xml(_example_dict()), "misnamed.json")
    assert parsed.schema_version == "v2_3"
    parsed = parse_amelding(_example_bytes(), "misnamed.xml")
    assert parsed.schema_version == "json"


def test_bom_and_leading_whitespace_are_tolerated() -> None:
    parse_amelding(codecs.BOM_UTF8 + b"\n  " + _example_bytes(), "bom.json")
    parse_amelding(codecs.BOM_UTF8 + _to_xml(_example_dict()), "bom.xml")
    # Whitespace before an XML declaration is not well-formed XML; it is reported, not guessed.
    err = _error(b"\n" + _to_xml(_example_dict()), "space.xml")
    assert "not well-formed XML" in err.message


def test_utf16_xml() -> None:
    xml = _to_xml(_example_dict()).decode("utf-8")
    xml = xml.replace("encoding='utf-8'", "encoding='UTF-16'")
    parsed = parse_amelding(xml.encode("utf-16"), "utf16.xml")
    assert parsed.cash_salary == Decimal("23989.5")


# --- bad input --------------------------------------------------------------------------------


def _error(data: bytes, source: str = "bad.json") -> AmeldingError:
    with pytest.raises(AmeldingError) as info:
        parse_amelding(data, source)
    return info.value


def test_error_str_format() -> None:
    doc = _example_dict()
    del doc["leveranse"]["kalendermaaned"]
    err = _error(_json(doc))
    assert (err.source, err.field, err.message) == (
        "bad.json",
        "leveranse.kalendermaaned",
        "missing",
    )
    assert str(err) == "bad.json: leveranse.kalendermaaned: missing"
    assert isinstance(err, ValueError)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "empty"),
        (b"  \n\t ", "empty"),
        (b"hello, this is not a payroll file", "neither JSON nor XML"),
        (b"\x00\x01\x02binary", "neither JSON nor XML"),
        (b"[]", "not an a-melding"),
        (b'[{"leveranse": {}}]', "not an a-melding"),
        (b"{", "not valid JSON"),
        (b'{"leveranse": {"a": 1,}}', "not valid JSON"),
        (b'{"leveranse": NaN}', "not valid JSON"),
        (b"{\xff\xfe}", "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),  # absurd nesting
        (b"<melding", "not well-formed XML"),
        (b"<a></b>", "not well-formed XML"),
        (b"<a>\xff\xfe</a>", "not well-formed XML"),
        (b'<?xml version="1.0" encoding="bogus"?><melding/>', "not well-formed XML"),
    ],
)
def test_not_an_amelding(data: bytes, fragment: str) -> None:
    err = _error(data)
    assert fragment in err.message
    assert err.field == ""


@pytest.mark.parametrize("doc", [{}, {"melding": {}}, {"Leveranse": {}}, {"leveranse": None}])
def test_json_without_leveranse(doc: dict[str, Any]) -> None:
    err = _error(_json(doc))
    assert err.field == "leveranse"
    assert "missing" in err.message


@pytest.mark.parametrize("value", [[], "x", 3])
def test_leveranse_not_an_object(value: Any) -> None:
    err = _error(_json({"leveranse": value}))
    assert err.field == "leveranse"
    assert "expected an object" in err.message


@pytest.mark.parametrize(
    "value", ["2026-13", "2026-1", "2026-00", "26-01", "2026-01-01", "", 202601]
)
def test_bad_kalendermaaned(value: Any) -> None:
    doc = _example_dict()
    doc["leveranse"]["kalendermaaned"] = value
    err = _error(_json(doc))
    assert err.field == "leveranse.kalendermaaned"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda lev: lev.pop("meldingsId"), "leveranse.meldingsId"),
        (lambda lev: lev.update(meldingsId=""), "leveranse.meldingsId"),
        (lambda lev: lev.update(meldingsId="has spaces"), "leveranse.meldingsId"),
        (lambda lev: lev.update(erstatterMeldingsId="a/b"), "leveranse.erstatterMeldingsId"),
        (lambda lev: lev.pop("opplysningspliktig"), "leveranse.opplysningspliktig"),
        (
            lambda lev: lev["opplysningspliktig"].pop("norskIdentifikator"),
            "leveranse.opplysningspliktig.norskIdentifikator",
        ),
        (
            lambda lev: lev["opplysningspliktig"].update(norskIdentifikator="21178546"),
            "leveranse.opplysningspliktig.norskIdentifikator",
        ),
        (
            # A number has lost any leading zero, so it is refused rather than guessed at.
            lambda lev: lev["opplysningspliktig"].update(norskIdentifikator=211785462),
            "leveranse.opplysningspliktig.norskIdentifikator",
        ),
        (lambda lev: lev.pop("oppgave"), "leveranse.oppgave"),
        (
            lambda lev: lev["oppgave"]["virksomhet"][0].update(norskIdentifikator="31476894X"),
            "leveranse.oppgave.virksomhet[0].norskIdentifikator",
        ),
        (
            lambda lev: lev["oppgave"].update(virksomhet={"norskIdentifikator": "314768949"}),
            "leveranse.oppgave.virksomhet",
        ),
        (
            lambda lev: lev.update(leveringstidspunkt="23.01.2026 14:50"),
            "leveranse.leveringstidspunkt",
        ),
        (
            lambda lev: lev.update(leveringstidspunkt="2026-02-30T10:00:00"),
            "leveranse.leveringstidspunkt",
        ),
    ],
)
def test_bad_leveranse_fields(mutate: Any, field: str) -> None:
    doc = _example_dict()
    mutate(doc["leveranse"])
    assert _error(_json(doc)).field == field


RECIPIENT = "leveranse.oppgave.virksomhet[0].inntektsmottaker[0]"


@pytest.mark.parametrize("value", ["abc", "NaN", "Infinity", "1e5", "12,5", " ", "", True, [], {}])
def test_bad_amount_names_the_field(value: Any) -> None:
    doc = _example_dict()
    doc["leveranse"]["oppgave"]["virksomhet"][0]["inntektsmottaker"][0]["inntekt"][1]["beloep"] = (
        value
    )
    err = _error(_json(doc))
    assert err.field == f"{RECIPIENT}.inntekt[1].beloep"
    assert str(err).startswith(f"bad.json: {RECIPIENT}.inntekt[1].beloep: ")


def test_amount_field_path_with_several_recipients() -> None:
    doc = _example_dict()
    recipients = doc["leveranse"]["oppgave"]["virksomhet"][0]["inntektsmottaker"]
    recipients.extend(copy.deepcopy(recipients[0]) for _ in range(2))
    recipients[2]["inntekt"][1]["beloep"] = "abc"
    err = _error(_json(doc))
    assert err.field == "leveranse.oppgave.virksomhet[0].inntektsmottaker[2].inntekt[1].beloep"
    assert "'abc'" in err.message


def test_overlong_number_is_refused_without_echoing_it() -> None:
    doc = _example_dict()
    doc["leveranse"]["oppgave"]["virksomhet"][0]["inntektsmottaker"][0]["inntekt"][0]["beloep"] = (
        "9" * 100_000
    )
    err = _error(_json(doc))
    assert err.field == f"{RECIPIENT}.inntekt[0].beloep"
    assert len(str(err)) < 300


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("forskuddstrekk", 0, "beloep"), "-17022.5", f"{RECIPIENT}.forskuddstrekk[0].beloep"),
        (("forskuddstrekk", 0, "beloep"), "x", f"{RECIPIENT}.forskuddstrekk[0].beloep"),
        (("inntekt", 0, "fordel"), None, f"{RECIPIENT}.inntekt[0].fordel"),
        (("inntekt", 0, "beloep"), None, f"{RECIPIENT}.inntekt[0].beloep"),
        (
            ("arbeidsforhold", 0, "startdato"),
            "31.01.2026",
            f"{RECIPIENT}.arbeidsforhold[0].startdato",
        ),
        (
            ("arbeidsforhold", 0, "sluttdato"),
            "2026-02-30",
            f"{RECIPIENT}.arbeidsforhold[0].sluttdato",
        ),
        (
            ("arbeidsforhold", 0, "sluttdato"),
            "20260228",
            f"{RECIPIENT}.arbeidsforhold[0].sluttdato",
        ),
        (
            ("arbeidsforhold", 0, "stillingsprosent"),
            "full",
            f"{RECIPIENT}.arbeidsforhold[0].stillingsprosent",
        ),
        (("norskIdentifikator",), "0884219973", f"{RECIPIENT}.norskIdentifikator"),
    ],
)
def test_bad_recipient_fields(path: tuple[Any, ...], value: Any, field: str) -> None:
    doc = _example_dict()
    target: Any = doc["leveranse"]["oppgave"]["virksomhet"][0]["inntektsmottaker"][0]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert _error(_json(doc)).field == field


def test_bad_payment_fields() -> None:
    doc = _example_dict()
    doc["leveranse"]["oppgave"]["betalingsinformasjon"]["sumArbeidsgiveravgift"] = "lots"
    assert (
        _error(_json(doc)).field == "leveranse.oppgave.betalingsinformasjon.sumArbeidsgiveravgift"
    )
    doc = _example_dict()
    per_payout = doc["leveranse"]["oppgave"]["betalingsinformasjon"]
    per_payout["sumForskuddstrekkPerLoennsutbetalingsdato"][0]["loennsutbetalingsdato"] = "jan"
    assert _error(_json(doc)).field == (
        "leveranse.oppgave.betalingsinformasjon.sumForskuddstrekkPerLoennsutbetalingsdato[0]"
        ".loennsutbetalingsdato"
    )
    doc = _example_dict()
    aga = doc["leveranse"]["oppgave"]["virksomhet"][0]["arbeidsgiveravgift"]
    aga["loennOgGodtgjoerelse"][0]["prosentsatsForAvgiftsberegning"] = "14,1"
    assert _error(_json(doc)).field == (
        "leveranse.oppgave.virksomhet[0].arbeidsgiveravgift.loennOgGodtgjoerelse[0]"
        ".prosentsatsForAvgiftsberegning"
    )


def test_file_over_size_limit() -> None:
    data = b"{" + b" " * MAX_AMELDING_BYTES + b"}"
    err = _error(data)
    assert "limit" in err.message


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<melding xmlns="urn:ske:fastsetting:innsamling:a-meldingen:v2_3">
 <Leveranse><kildesystem>&lol4;</kildesystem></Leveranse>
</melding>
"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE melding [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<melding xmlns="urn:ske:fastsetting:innsamling:a-meldingen:v2_3">
 <Leveranse><kildesystem>&xxe;</kildesystem></Leveranse>
</melding>
"""

PLAIN_DOCTYPE = b"""<?xml version="1.0"?>
<!DOCTYPE melding>
<melding xmlns="urn:ske:fastsetting:innsamling:a-meldingen:v2_3"><Leveranse/></melding>
"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, XXE, PLAIN_DOCTYPE])
def test_xml_with_dtd_is_refused(data: bytes) -> None:
    err = _error(data, "evil.xml")
    assert "DTD" in err.message
    assert str(err).startswith("evil.xml: ")


@pytest.mark.parametrize(
    ("root", "fragment"),
    [
        ('<melding xmlns="urn:ske:fastsetting:innsamling:a-meldingen:v9_9"/>', "namespace"),
        ('<melding xmlns="urn:ske:fastsetting:innsamling:a-meldingen:v2_0"/>', "namespace"),
        ("<melding/>", "namespace"),
        ('<html xmlns="http://www.w3.org/1999/xhtml"><body/></html>', "namespace"),
        ('<Leveranse xmlns="urn:ske:fastsetting:innsamling:a-meldingen:v2_3"/>', "root element"),
    ],
)
def test_xml_that_is_not_an_amelding(root: str, fragment: str) -> None:
    err = _error(root.encode(), "other.xml")
    assert fragment in err.message
    assert "not an a-melding" in err.message


def test_xml_with_two_leveranser() -> None:
    ns = NS.format("v2_3")
    err = _error(f'<melding xmlns="{ns}"><Leveranse/><Leveranse/></melding>'.encode(), "two.xml")
    assert err.field == "leveranse"


def test_xml_repeated_single_element() -> None:
    xml = _to_xml(_example_dict()).replace(
        b"<kalendermaaned>2026-01</kalendermaaned>",
        b"<kalendermaaned>2026-01</kalendermaaned><kalendermaaned>2026-02</kalendermaaned>",
    )
    err = _error(xml, "dup.xml")
    assert err.field == "leveranse.kalendermaaned"


def test_xml_bad_amount_names_the_field() -> None:
    xml = _to_xml(_example_dict()).replace(b"<beloep>1569.5</beloep>", b"<beloep>abc</beloep>")
    err = _error(xml, "bad.xml")
    assert str(err) == f"bad.xml: {RECIPIENT}.inntekt[1].beloep: not a number: 'abc'"


def test_xml_element_where_a_value_is_expected() -> None:
    xml = _to_xml(_example_dict()).replace(
        b"<kalendermaaned>2026-01</kalendermaaned>", b"<kalendermaaned><x/></kalendermaaned>"
    )
    assert _error(xml, "bad.xml").field == "leveranse.kalendermaaned"


# --- robustness: any damage gives AmeldingError, never KeyError/TypeError ---------------------


def _json_paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _json_paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _json_paths(v, (*path, i))


REPLACEMENTS: list[Any] = [None, True, 0, -1.5, "x", "", [], {}, [{}], {"x": 1}]


def test_every_json_node_replaced_by_junk_raises_only_amelding_error() -> None:
    original = _example_dict()
    outcomes = {"ok": 0, "error": 0}
    for path in list(_json_paths(original))[1:]:
        for junk in REPLACEMENTS:
            doc = copy.deepcopy(original)
            target: Any = doc
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = junk
            try:
                parse_amelding(_json(doc), "fuzz.json")
                outcomes["ok"] += 1
            except AmeldingError as err:
                assert err.field or err.message, path
                outcomes["error"] += 1
    # Sanity: the fuzzing did hit required fields.
    assert outcomes["error"] > 50 and outcomes["ok"] > 50


def test_every_xml_element_removed_or_garbled_raises_only_amelding_error() -> None:
    original = ET.fromstring(_to_xml(_example_dict()))
    count = sum(1 for _ in original.iter())
    outcomes = {"ok": 0, "error": 0}
    for index in range(1, count):
        for action in ("remove", "text", "child"):
            root = copy.deepcopy(original)
            parents = {c: p for p in root.iter() for c in p}
            element = list(root.iter())[index]
            if action == "remove":
                parents[element].remove(element)
            elif action == "text":
                element.text = "garbage"
            else:
                ET.SubElement(element, element.tag)
            try:
                parse_amelding(ET.tostring(root), "fuzz.xml")
                outcomes["ok"] += 1
            except AmeldingError:
                outcomes["error"] += 1
    assert outcomes["error"] > 50 and outcomes["ok"] > 50


# --- a small hand-written XML v2_2 document ---------------------------------------------------

XML_V2_2 = b"""<?xml version="1.0" encoding="UTF-8"?>
<melding xmlns="urn:ske:fastsetting:innsamling:a-meldingen:v2_2">
  <Leveranse>
    <leveringstidspunkt>2025-11-04T09:15:00Z</leveringstidspunkt>
    <kalendermaaned>2025-10</kalendermaaned>
    <kildesystem>Handskrevet</kildesystem>
    <erstatterMeldingsId>orig-2025-10.1</erstatterMeldingsId>
    <meldingsId>fix-2025-10.2</meldingsId>
    <opplysningspliktig><norskIdentifikator>123456785</norskIdentifikator></opplysningspliktig>
    <oppgave>
      <virksomhet>
        <norskIdentifikator>987654321</norskIdentifikator>
        <inntektsmottaker>
          <norskIdentifikator>13830197340</norskIdentifikator>
          <identifiserendeInformasjon>
            <navn>Kari Nordmann</navn>
            <foedselsdato>1997-03-13</foedselsdato>
          </identifiserendeInformasjon>
          <arbeidsforhold>
            <arbeidsforholdId>A1</arbeidsforholdId>
            <typeArbeidsforhold>ordinaertArbeidsforhold</typeArbeidsforhold>
            <startdato>2020-01-01</startdato>
            <stillingsprosent>100</stillingsprosent>
          </arbeidsforhold>
          <forskuddstrekk><beskrivelse>ordinaert</beskrivelse><beloep>-12000</beloep></forskuddstrekk>
          <inntekt>
            <fordel>kontantytelse</fordel>
            <utloeserArbeidsgiveravgift>true</utloeserArbeidsgiveravgift>
            <inngaarIGrunnlagForTrekk>true</inngaarIGrunnlagForTrekk>
            <beloep>40000.00</beloep>
            <loennsinntekt><beskrivelse>fastloenn</beskrivelse></loennsinntekt>
          </inntekt>
          <inntekt>
            <fordel>kontantytelse</fordel>
            <utloeserArbeidsgiveravgift>true</utloeserArbeidsgiveravgift>
            <inngaarIGrunnlagForTrekk>true</inngaarIGrunnlagForTrekk>
            <beloep> 1234.56 </beloep>
            <loennsinntekt><beskrivelse>overtidsgodtgjoerelse</beskrivelse></loennsinntekt>
          </inntekt>
          <inntekt>
            <fordel>utgiftsgodtgjoerelse</fordel>
            <utloeserArbeidsgiveravgift>false</utloeserArbeidsgiveravgift>
            <inngaarIGrunnlagForTrekk>false</inngaarIGrunnlagForTrekk>
            <beloep>500</beloep>
            <loennsinntekt><beskrivelse>kilometergodtgjoerelseBil</beskrivelse></loennsinntekt>
          </inntekt>
        </inntektsmottaker>
        <inntektsmottaker>
          <norskIdentifikator>24880199664</norskIdentifikator>
          <arbeidsforhold>
            <typeArbeidsforhold>ordinaertArbeidsforhold</typeArbeidsforhold>
            <startdato>2019-05-01</startdato>
            <sluttdato>2025-09-30</sluttdato>
          </arbeidsforhold>
          <inntekt>
            <fordel>kontantytelse</fordel>
            <utloeserArbeidsgiveravgift>true</utloeserArbeidsgiveravgift>
            <inngaarIGrunnlagForTrekk>true</inngaarIGrunnlagForTrekk>
            <beloep>3000</beloep>
            <loennsinntekt><beskrivelse>feriepenger</beskrivelse></loennsinntekt>
          </inntekt>
        </inntektsmottaker>
        <arbeidsgiveravgift>
          <loennOgGodtgjoerelse>
            <beregningskodeForArbeidsgiveravgift>generelleNaeringer</beregningskodeForArbeidsgiveravgift>
            <sone>1</sone>
            <avgiftsgrunnlagBeloep>44234.56</avgiftsgrunnlagBeloep>
            <prosentsatsForAvgiftsberegning>14.1</prosentsatsForAvgiftsberegning>
          </loennOgGodtgjoerelse>
          <tilskuddOgPremieTilPensjon>
            <beregningskodeForArbeidsgiveravgift>generelleNaeringer</beregningskodeForArbeidsgiveravgift>
            <sone>1</sone>
            <avgiftsgrunnlagBeloep>1000</avgiftsgrunnlagBeloep>
            <prosentsatsForAvgiftsberegning>14.1</prosentsatsForAvgiftsberegning>
          </tilskuddOgPremieTilPensjon>
        </arbeidsgiveravgift>
      </virksomhet>
    </oppgave>
  </Leveranse>
</melding>
"""

# The same document in the JSON model.
JSON_V2_2_EQUIVALENT: dict[str, Any] = {
    "leveranse": {
        "kildesystem": "Handskrevet",
        "opplysningspliktig": {"norskIdentifikator": "123456785"},
        "meldingsId": "fix-2025-10.2",
        "erstatterMeldingsId": "orig-2025-10.1",
        "oppgave": {
            "virksomhet": [
                {
                    "norskIdentifikator": "987654321",
                    "inntektsmottaker": [
                        {
                            "norskIdentifikator": "13830197340",
                            "identifiserendeInformasjon": {
                                "navn": "Kari Nordmann",
                                "foedselsdato": "1997-03-13",
                            },
                            "arbeidsforhold": [
                                {
                                    "arbeidsforholdId": "A1",
                                    "typeArbeidsforhold": "ordinaertArbeidsforhold",
                                    "startdato": "2020-01-01",
                                    "stillingsprosent": 100,
                                }
                            ],
                            "forskuddstrekk": [{"beskrivelse": "ordinaert", "beloep": -12000}],
                            "inntekt": [
                                {
                                    "fordel": "kontantytelse",
                                    "utloeserArbeidsgiveravgift": True,
                                    "inngaarIGrunnlagForTrekk": True,
                                    "beloep": "40000.00",
                                    "loennsinntekt": {"beskrivelse": "fastloenn"},
                                },
                                {
                                    "fordel": "kontantytelse",
                                    "utloeserArbeidsgiveravgift": True,
                                    "inngaarIGrunnlagForTrekk": True,
                                    "beloep": 1234.56,
                                    "loennsinntekt": {"beskrivelse": "overtidsgodtgjoerelse"},
                                },
                                {
                                    "fordel": "utgiftsgodtgjoerelse",
                                    "utloeserArbeidsgiveravgift": False,
                                    "inngaarIGrunnlagForTrekk": False,
                                    "beloep": "500",
                                    "loennsinntekt": {"beskrivelse": "kilometergodtgjoerelseBil"},
                                },
                            ],
                        },
                        {
                            "norskIdentifikator": "24880199664",
                            "arbeidsforhold": [
                                {
                                    "typeArbeidsforhold": "ordinaertArbeidsforhold",
                                    "startdato": "2019-05-01",
                                    "sluttdato": "2025-09-30",
                                }
                            ],
                            "inntekt": [
                                {
                                    "fordel": "kontantytelse",
                                    "utloeserArbeidsgiveravgift": True,
                                    "inngaarIGrunnlagForTrekk": True,
                                    "beloep": "3000",
                                    "loennsinntekt": {"beskrivelse": "feriepenger"},
                                }
                            ],
                        },
                    ],
                    "arbeidsgiveravgift": {
                        "loennOgGodtgjoerelse": [
                            {
                                "beregningskodeForArbeidsgiveravgift": "generelleNaeringer",
                                "sone": "1",
                                "avgiftsgrunnlagBeloep": "44234.56",
                                "prosentsatsForAvgiftsberegning": "14.1",
                            }
                        ],
                        "tilskuddOgPremieTilPensjon": [
                            {
                                "beregningskodeForArbeidsgiveravgift": "generelleNaeringer",
                                "sone": "1",
                                "avgiftsgrunnlagBeloep": "1000",
                                "prosentsatsForAvgiftsberegning": "14.1",
                            }
                        ],
                    },
                }
            ]
        },
        "leveringstidspunkt": "2025-11-04T09:15:00Z",
        "kalendermaaned": "2025-10",
    }
}


def test_handwritten_xml_v2_2() -> None:
    parsed = parse_amelding(XML_V2_2, "oktober.xml")
    assert parsed.schema_version == "v2_2"
    assert parsed.period == "2025-10"
    assert parsed.meldings_id == "fix-2025-10.2"
    assert parsed.replaces_meldings_id == "orig-2025-10.1"
    assert parsed.opplysningspliktig_orgnr == "123456785"
    assert parsed.virksomhet_orgnrs == ("987654321",)
    assert parsed.delivered_at == datetime(2025, 11, 4, 9, 15, tzinfo=UTC)
    # Expense allowance (utgiftsgodtgjoerelse) is not cash salary; feriepenger are.
    assert parsed.cash_salary == Decimal("44234.56")
    assert parsed.withholding == Decimal("12000")
    # No betalingsinformasjon: AGA is computed, (44234.56 + 1000) × 14.1 % = 6378.07296.
    assert parsed.aga_computed == Decimal("6378.07")
    assert parsed.aga == Decimal("6378")
    assert parsed.finansskatt == Decimal(0)
    assert parsed.withholding_per_payout == ()
    # The second recipient left on 30 Sep and only got holiday pay in October.
    assert parsed.active_employee_count() == 1
    kari, ola = parsed.income_recipients
    assert kari.name == "Kari Nordmann"
    assert kari.cash_salary == Decimal("41234.56")
    assert kari.employments[0].position_percent == Decimal(100)
    assert kari.employments[0].end_date is None
    assert ola.name is None
    assert ola.employments[0].arbeidsforhold_id is None
    assert ola.withholding == Decimal(0)


def test_handwritten_xml_v2_2_and_its_json_equivalent_agree() -> None:
    from_xml = parse_amelding(XML_V2_2, "oktober.xml")
    from_json = parse_amelding(_json(JSON_V2_2_EQUIVALENT), "oktober.json")
    _same_except_version(from_xml, from_json)


def test_aga_deductions_reduce_the_computed_contribution() -> None:
    doc = copy.deepcopy(JSON_V2_2_EQUIVALENT)
    aga = doc["leveranse"]["oppgave"]["virksomhet"][0]["arbeidsgiveravgift"]
    aga["fradragIGrunnlagetForSone"] = [
        {
            "beregningskodeForArbeidsgiveravgift": "generelleNaeringer",
            "sone": "1",
            "avgiftsfradragBeloep": "1000",
            "prosentsatsForAvgiftsberegning": "14.1",
        }
    ]
    parsed = parse_amelding(_json(doc), "fradrag.json")
    assert parsed.aga_computed == Decimal("6237.07")  # 6378.07296 - 141


# --- employment and counting semantics ---------------------------------------------------------


def _employment(
    start: date | None, end: date | None, kind: str = "ordinaertArbeidsforhold"
) -> Employment:
    return Employment("A", kind, start, end, None)


JAN = (date(2026, 1, 1), date(2026, 1, 31))


@pytest.mark.parametrize(
    ("start", "end", "active"),
    [
        (None, None, True),
        (date(2026, 1, 31), date(2026, 2, 28), True),  # overlaps on the last day
        (date(2025, 1, 1), date(2026, 1, 1), True),  # overlaps on the first day
        (date(2025, 1, 1), date(2025, 12, 31), False),
        (date(2026, 2, 1), None, False),
        (None, date(2025, 12, 31), False),
        (None, date(2026, 1, 15), True),
        (date(2026, 1, 15), None, True),
    ],
)
def test_employment_overlap(start: date | None, end: date | None, active: bool) -> None:
    assert _employment(start, end).is_active_during(*JAN) is active


def test_pension_without_employment_is_not_an_employment() -> None:
    e = _employment(None, None, "pensjonOgAndreTyperYtelserUtenAnsettelsesforhold")
    assert not e.is_active_during(*JAN)


def _recipient(
    national_id: str | None, *employments: Employment, intl: str | None = None
) -> IncomeRecipient:
    return IncomeRecipient(
        national_id=national_id,
        name=None,
        employments=employments,
        cash_salary=Decimal(0),
        withholding=Decimal(0),
        virksomhet_orgnr="987654321",
        international_id=intl,
    )


def test_active_employee_count_is_distinct_people() -> None:
    active = _employment(None, None)
    parsed = dataclasses.replace(
        parse_amelding(XML_V2_2, "x.xml"),
        period="2026-01",
        income_recipients=(
            _recipient("13830197340", active),
            _recipient("13830197340", active),  # same person under a second virksomhet
            _recipient("24880199664", _employment(None, date(2025, 12, 31))),  # left before
            _recipient("08842199736"),  # no employment at all (e.g. board fee only)
            _recipient(None, active, intl="SE:19900101-1234"),
            _recipient(None, active, intl="SE:19900101-1234"),
            _recipient(None, active),
            _recipient(None, active),
        ),
    )
    assert parsed.active_employee_count() == 4


# --- writer round trip --------------------------------------------------------------------------


def _demo_document(**overrides: Any) -> AmeldingDocument:
    fields: dict[str, Any] = {
        "period": "2026-02",
        "meldings_id": "demo-2026-02-1",
        "opplysningspliktig": "912345675",
        "virksomhet": "987654325",
        "payout_date": date(2026, 2, 20),
        "recipients": [
            AmeldingRecipient(
                national_id="13830197340",
                employments=[
                    AmeldingEmployment(
                        arbeidsforhold_id="E1",
                        start_date=date(2021, 8, 1),
                        position_percent=Decimal("80"),
                    )
                ],
                salary_lines=[
                    ("fastloenn", Decimal("38000.00")),
                    ("overtidsgodtgjoerelse", Decimal("1250.5")),
                ],
                withholding=Decimal("11890"),
            ),
            AmeldingRecipient(
                national_id="24880199664",
                employments=[
                    AmeldingEmployment(
                        arbeidsforhold_id="E2",
                        start_date=date(2024, 3, 1),
                        end_date=date(2026, 2, 15),
                        position_percent=Decimal("100.0"),
                    ),
                    AmeldingEmployment(
                        arbeidsforhold_id="E3", start_date=date(2026, 3, 1)
                    ),  # starts after February: does not count
                ],
                salary_lines=[("timeloenn", Decimal("20000"))],
                withholding=Decimal("5000"),
            ),
        ],
    }
    fields.update(overrides)
    return AmeldingDocument(**fields)


def test_writer_round_trip_json_and_xml() -> None:
    doc = _demo_document()
    from_json = parse_amelding(_json(amelding_to_json(doc)), "demo.json")
    from_xml = parse_amelding(amelding_to_xml(doc), "demo.xml")
    assert from_json.schema_version == "json"
    assert from_xml.schema_version == "v2_3"
    _same_except_version(from_json, from_xml)

    assert from_json.period == "2026-02"
    assert from_json.meldings_id == "demo-2026-02-1"
    assert from_json.replaces_meldings_id is None
    assert from_json.opplysningspliktig_orgnr == "912345675"
    assert from_json.virksomhet_orgnrs == ("987654325",)
    assert from_json.cash_salary == doc.total_salary() == Decimal("59250.5")
    assert from_json.withholding == doc.total_withholding() == Decimal("16890")
    # 59250.5 × 14.1 % = 8354.3205
    assert from_json.aga == doc.aga_amount() == Decimal("8354")
    assert from_json.aga_computed == Decimal("8354.32")
    assert from_json.withholding_per_payout == ((date(2026, 2, 20), Decimal("16890")),)
    assert from_json.delivered_at == datetime(2026, 2, 20, 12, tzinfo=UTC)
    assert from_json.active_employee_count() == 2
    assert [r.national_id for r in from_json.income_recipients] == ["13830197340", "24880199664"]


def test_writer_replacement_and_explicit_aga() -> None:
    doc = _demo_document(
        replaces="demo-2026-02-1",
        meldings_id="demo-2026-02-2",
        aga_grunnlag=Decimal("10000"),
        aga_sone="4a",
        aga_sats=Decimal("7.9"),
        delivered_at=datetime(2026, 3, 2, 8, 30, tzinfo=UTC),
    )
    parsed = parse_amelding(amelding_to_xml(doc), "demo.xml")
    assert parsed.replaces_meldings_id == "demo-2026-02-1"
    assert parsed.aga == Decimal("790")
    assert parsed.aga_computed == Decimal("790.00")
    assert parsed.delivered_at == datetime(2026, 3, 2, 8, 30, tzinfo=UTC)


def test_writer_without_withholding_omits_per_payout_sums() -> None:
    doc = _demo_document(
        recipients=[
            AmeldingRecipient(
                national_id="13830197340", salary_lines=[("fastloenn", Decimal(5000))]
            )
        ]
    )
    out = amelding_to_json(doc)
    assert (
        "sumForskuddstrekkPerLoennsutbetalingsdato"
        not in out["leveranse"]["oppgave"]["betalingsinformasjon"]
    )
    parsed = parse_amelding(_json(out), "demo.json")
    assert parsed.withholding == 0
    assert parsed.withholding_per_payout == ()
    assert parsed.active_employee_count() == 0  # no employment reported


def test_writer_refuses_fractional_withholding() -> None:
    doc = _demo_document(
        recipients=[AmeldingRecipient(national_id="13830197340", withholding=Decimal("10.5"))]
    )
    with pytest.raises(ValueError, match="whole kroner"):
        amelding_to_json(doc)


def _shape(value: Any, path: str = "") -> Iterator[tuple[str, type]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _shape(v, f"{path}.{k}" if path else k)
    elif isinstance(value, list):
        for v in value:
            yield from _shape(v, f"{path}[]")
    else:
        yield path, type(value)


def test_writer_json_has_the_shape_of_skatteetatens_example() -> None:
    example = dict(_shape(_example_dict()))
    written = _demo_document(replaces="demo-2026-02-0")
    out = amelding_to_json(written)
    assert out["leveranse"]["kildesystem"] == KILDESYSTEM
    for path, kind in _shape(out):
        if path == "leveranse.erstatterMeldingsId":  # optional; the example has none
            continue
        assert path in example, f"{path} is not in Skatteetaten's example"
        assert kind is example[path], f"{path}: {kind.__name__} vs {example[path].__name__}"
    recipient = out["leveranse"]["oppgave"]["virksomhet"][0]["inntektsmottaker"][0]
    assert recipient["forskuddstrekk"] == [{"beskrivelse": "ordinaert", "beloep": -11890}]
    assert recipient["inntekt"][0]["beloep"] == "38000.0"
    assert recipient["inntekt"][1]["beloep"] == "1250.5"
    assert recipient["arbeidsforhold"][0]["stillingsprosent"] == "80.0"
    assert list(out["leveranse"]) == [
        "kildesystem",
        "opplysningspliktig",
        "meldingsId",
        "erstatterMeldingsId",
        "oppgave",
        "leveringstidspunkt",
        "kalendermaaned",
    ]
    assert out["leveranse"]["leveringstidspunkt"] == "2026-02-20T12:00:00.000+00:00"
