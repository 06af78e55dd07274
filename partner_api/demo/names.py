"""Norwegian names for the demo portfolio: people, companies, e-mail addresses.

Pure data and pure functions of a ``random.Random``; nothing here reads the clock.
"""

from __future__ import annotations

import random
import unicodedata

FIRM_NAME = "Nordlys Regnskap AS"
FIRM_DOMAIN = "nordlys.example"
# The demo's fixed login: the first user, a partneradmin.
FIRST_USER = "Kari Nordmann"

FEMALE_FIRST = (
    "Kari", "Ingrid", "Anne", "Marit", "Solveig", "Åse", "Sølvi", "Bjørg", "Ragnhild", "Gro",
    "Tone", "Siri", "Hege", "Ingeborg", "Liv", "Astrid", "Kjersti", "Mette", "Nina", "Randi",
    "Silje", "Marte", "Ida", "Nora", "Emma", "Thea", "Hanne", "Berit", "Torill", "Eli",
    "Grethe", "Målfrid", "Øydis", "Åshild", "Bodil", "Sigrid", "Maren", "Jorunn", "Synnøve",
    "Tuva", "Frøydis", "Anne-Lise", "Guro", "Vårin", "Dagny", "Aisha", "Fatima",
)
MALE_FIRST = (
    "Ola", "Per", "Bjørn", "Knut", "Jørgen", "Øyvind", "Håkon", "Pål", "Nils", "Lars", "Ståle",
    "Terje", "Geir", "Arne", "Sindre", "Eirik", "Magnus", "Jon", "Trond", "Svein", "Åsmund",
    "Tore", "Kåre", "Øystein", "Jørn", "Ivar", "Sigurd", "Vegard", "Anders", "Espen", "Rune",
    "Halvor", "Stian", "Gunnar", "Torbjørn", "Aslak", "Snorre", "Kjell", "Håvard", "Ørjan",
    "Mohammed", "Tomasz", "Jan-Erik",
)
SURNAMES = (
    "Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Kristiansen",
    "Jensen", "Karlsen", "Johnsen", "Pettersen", "Eriksen", "Berg", "Haugen", "Hagen",
    "Johannessen", "Andreassen", "Jacobsen", "Dahl", "Jørgensen", "Halvorsen", "Henriksen",
    "Lund", "Sørensen", "Jakobsen", "Moen", "Gundersen", "Iversen", "Strand", "Solberg",
    "Svendsen", "Eide", "Knutsen", "Martinsen", "Paulsen", "Bakken", "Kristoffersen",
    "Mathisen", "Lie", "Amundsen", "Nguyen", "Rasmussen", "Ali", "Lunde", "Solheim", "Berge",
    "Moe", "Nygård", "Bakke", "Fredriksen", "Holm", "Lien", "Hauge", "Christensen", "Evensen",
    "Sæther", "Aas", "Myhre", "Haugland", "Thomassen", "Sivertsen", "Simonsen", "Danielsen",
    "Berntsen", "Sandvik", "Rønning", "Arnesen", "Næss", "Vik", "Haug", "Ellingsen", "Thorsen",
    "Birkeland", "Isaksen", "Gulbrandsen", "Ødegård", "Tveit", "Løken", "Bø", "Sæbø", "Hålien",
    "Grønli", "Østby", "Åsheim", "Brække", "Kvåle", "Fjær", "Røed", "Tønnessen", "Kjær",
    "Sæle", "Åkre", "Bråten", "Kowalski", "Mæhlum", "Ødegaard", "Rød", "Sønstebø",
)
PLACES = (
    "Bergen", "Trondheim", "Tromsø", "Bodø", "Ålesund", "Molde", "Førde", "Sogndal", "Lærdal",
    "Røros", "Hønefoss", "Ås", "Drøbak", "Moss", "Fredrikstad", "Halden", "Skien", "Porsgrunn",
    "Arendal", "Grimstad", "Kristiansand", "Mandal", "Flekkefjord", "Egersund", "Sandnes",
    "Stavanger", "Haugesund", "Stord", "Voss", "Geilo", "Gol", "Lillehammer", "Gjøvik", "Hamar",
    "Elverum", "Kongsvinger", "Jessheim", "Lillestrøm", "Asker", "Sandvika", "Drammen",
    "Kongsberg", "Notodden", "Rjukan", "Tønsberg", "Sandefjord", "Larvik", "Horten",
    "Steinkjer", "Levanger", "Stjørdal", "Namsos", "Mosjøen", "Narvik", "Harstad", "Finnsnes",
    "Alta", "Hammerfest", "Vadsø", "Kirkenes", "Svolvær", "Leknes", "Sortland", "Lofoten",
    "Hardanger", "Nordfjord", "Sunnmøre", "Valdres", "Hallingdal", "Gudbrandsdal", "Østerdal",
    "Setesdal", "Jæren", "Lindesnes", "Vestfold", "Helgeland", "Senja", "Tysnes", "Fitjar",
    "Bømlo", "Sotra", "Askøy", "Fana", "Åsane", "Løten", "Stange", "Våler", "Råde", "Ørsta",
    "Volda", "Stryn", "Loen", "Hjelmeland", "Sauda", "Øystese", "Norheimsund", "Odda", "Ål",
    "Vinje", "Åmot", "Tynset", "Oppdal", "Melhus", "Malvik", "Frøya", "Hitra", "Bærum",
)
PREFIXES = (
    "Fjellstue", "Havbris", "Solbakken", "Furulund", "Granly", "Bjørkely", "Lyngheim",
    "Skogly", "Sjøglimt", "Fjordgløtt", "Nordstjerne", "Vestlys", "Østlandske", "Sørlandske",
    "Nordnorsk", "Midtnorsk", "Trøndersk", "Fjæra", "Elvebakken", "Åsgard", "Lysglimt",
    "Blåbærlia", "Tindeglød", "Kystlys", "Fossheim", "Brygga", "Solsiden", "Nøkken", "Jutul",
    "Vårsol", "Nordavind", "Sydvest", "Kvitfjell", "Ospelia", "Bekkely",
)
TRADES = (
    "Bakeri", "Rørlegger", "Elektro", "Bygg", "Snekkerverksted", "Maling", "Tannlegekontor",
    "Legesenter", "Frisør", "Transport", "Taxi", "Eiendom", "Tak & Fasade", "Ventilasjon",
    "Entreprenør", "Graving", "Blikkenslager", "Murmester", "Glassmester", "Rørteknikk",
    "Bilverksted", "Dekkservice", "Kafé", "Restaurant", "Kro", "Fiskemottak", "Sjømat",
    "Båtservice", "Marina", "Hotell", "Camping", "Blomster", "Interiør", "Møbler", "Sport",
    "Sykkel", "Optikk", "Barnehage", "Fysioterapi", "Kiropraktor", "Veterinær", "Rengjøring",
    "Vaskeri", "Catering", "Bryggeri", "Kaffebrenneri", "Låsservice", "Skadedyrkontroll",
    "Trafikkskole", "Arkitekter", "Rådgivning", "IT", "Data", "Media", "Reklame", "Trykkeri",
    "Eventbyrå", "Sikkerhet", "Maskin", "Mek. Verksted", "Sveis", "Stål", "Betong", "Asfalt",
    "Anlegg", "Landskap", "Trepleie", "Sag & Høvleri", "Kjøttforedling", "Pølsemakeri",
    "Isolasjon", "Gulv", "Flis & Mur", "Kjøkken", "Bad & Våtrom", "Regnskapstjenester",
    "Helsesenter", "Bokhandel", "Jernvare", "Dyrebutikk", "Gjestgiveri", "Bistro", "Pizzeria",
)
LEGAL_FORMS = ("AS", "AS", "AS", "AS", "AS", "AS", "AS", "ANS", "DA", "SA")
FARM_TRADES = (
    "Gartneri", "Frukt og Bær", "Melkeproduksjon", "Potet", "Grønt", "Skogsdrift",
    "Maskinlag", "Fjøs & Ysteri", "Sau og Lam", "Økologiske Grønnsaker",
)

# Names that must render literally: markup-looking text, quotes, a bidi override, length.
HOSTILE_NAMES = (
    "Acme [/] AS",
    "[@click=app.quit] Rør AS",
    "Firma [bold]Test[/bold] AS",
    'O\'Brien & "Sønn" AS',
    "Speil \u202eSA nevtoR\u202c AS",
    "Aksjeselskapet for Utleie av Anleggsmaskiner, Lifter og Stillas i Nord-Østerdal og "
    "Gudbrandsdalen AS",
)

_TRANSLIT = str.maketrans({"æ": "ae", "ø": "o", "å": "aa", "Æ": "ae", "Ø": "o", "Å": "aa"})


def person_name(rng: random.Random) -> str:
    first = rng.choice(FEMALE_FIRST if rng.random() < 0.5 else MALE_FIRST)
    return f"{first} {rng.choice(SURNAMES)}"


def email_local_part(name: str) -> str:
    """``"Bjørn Ødegård"`` → ``"bjorn.odegard"`` (æ→ae, ø→o, å→aa, other accents dropped)."""
    text = name.translate(_TRANSLIT)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    parts = ["".join(ch for ch in p.lower() if ch.isalnum() or ch == "-") for p in text.split()]
    return ".".join(p for p in parts if p)


def company_name(rng: random.Random) -> str:
    """A realistic company name; a few per cent are enkeltpersonforetak-style."""
    r = rng.random()
    trade = rng.choice(TRADES)
    form = rng.choice(LEGAL_FORMS)
    if r < 0.27:
        return f"{rng.choice(PLACES)} {trade} {form}"
    if r < 0.45:
        return f"{rng.choice(PREFIXES)} {trade} {form}"
    if r < 0.62:
        return f"{trade} {rng.choice(SURNAMES)} {form}"
    if r < 0.77:
        return f"{rng.choice(SURNAMES)} {trade} {form}"
    if r < 0.87:
        kin = rng.choice(("Sønn", "Sønner", "Datter", "Døtre"))
        return f"{rng.choice(SURNAMES)} & {kin} {form}"
    if r < 0.94:
        a, b = rng.sample(SURNAMES, 2)
        return f"{a} & {b} {form}"
    return f"{person_name(rng)} {trade}"


def farm_name(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.35:
        return f"{rng.choice(SURNAMES)} Gård"
    if r < 0.55:
        return f"Øvre {rng.choice(PLACES)} Gård"
    if r < 0.7:
        return f"{rng.choice(PLACES)} Gardsbruk DA"
    return f"{rng.choice(PLACES)} {rng.choice(FARM_TRADES)} {rng.choice(('AS', 'SA', 'DA'))}"
