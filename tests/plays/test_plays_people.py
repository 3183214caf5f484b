"""First names, company names and subjects derived from metadata."""

import pytest

from server.plays import clean_subject, company_from, first_name_from


@pytest.mark.parametrize("name, email, expected", [
    ("Jane Doe", "jane@acme.com", "Jane"),
    ('"Jane Doe"', "jane@acme.com", "Jane"),
    ("'Jane Doe'", "", "Jane"),
    ("Doe, Jane", "jane.doe@acme.com", "Jane"),
    ("van der Berg, Anna", "", "Anna"),
    ("Jane Doe, PhD", "", "Jane"),
    ("Jane Doe, CFO", "", "Jane"),
    ("JANE DOE", "", "Jane"),
    ("jane doe", "", "Jane"),
    ("DeShawn McCoy", "", "DeShawn"),
    ("Mary-Kate O'Neil", "", "Mary-Kate"),
    ("Dr. Priya Raman", "", "Priya"),
    ("José García (Globex)", "", "José"),
    ("=?utf-8?q?Ren=C3=A9e_Dupont?=", "", "Renée"),
    ("", "bob.smith@globex.com", "Bob"),
    (None, "BOB_SMITH@globex.com", "Bob"),
    ("", "mary-anne.lee+deals@globex.com", "Mary"),
    ("jane@acme.com", "jane.doe@acme.com", "Jane"),
    ("J. Smith", "j.smith@acme.com", ""),
    ("", "jsmith@acme.com", ""),
    ("", "info.sales@acme.com", ""),
    ("", "", ""),
    ("   ", None, ""),
])
def test_first_name_from(name, email, expected):
    assert first_name_from(name, email) == expected


def test_hostile_display_name_is_kept_as_data():
    # Nothing is stripped or rewritten: it is only ever inserted as text.
    assert first_name_from("<img src=x onerror=alert(1)> {{rep_name}}", "x@y.com") == "<img"
    assert first_name_from("{first_name} Evil", "") == "{first_name}"


@pytest.mark.parametrize("domain, expected", [
    ("globex-corp.com", "Globex Corp"),
    ("globex.com", "Globex"),
    ("mail.globex.com", "Globex"),
    ("initech.co.uk", "Initech"),
    ("sales.initech.com.au", "Initech"),
    ("ibm.com", "IBM"),
    ("3m.com", "3M"),
    ("someone@umbrella_labs.io", "Umbrella Labs"),
    ("GLOBEX.COM.", "Globex"),
    ("xn--mnchen-3ya.de", "München"),
    ("gmail.com", ""),
    ("bob@gmail.com", ""),
    ("yahoo.co.uk", ""),
    ("hotmail.fr", ""),
    ("outlook.com", ""),
    ("", ""),
    (None, ""),
    ("localhost", "Localhost"),
])
def test_company_from(domain, expected):
    assert company_from(domain) == expected


@pytest.mark.parametrize("subject, expected", [
    ("Re: Pricing", "Pricing"),
    ("RE: Fwd: FW:  Pricing   for 2025", "Pricing for 2025"),
    ("AW: WG: Angebot", "Angebot"),
    ("Re[2]: Pilot", "Pilot"),
    ("Regarding the pilot", "Regarding the pilot"),
    ("Fwd:", ""),
    (None, ""),
])
def test_clean_subject(subject, expected):
    assert clean_subject(subject) == expected
