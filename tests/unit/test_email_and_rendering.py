"""Composition and rendering refuse what would let a tenant or a stranger inject content."""

from __future__ import annotations

import pytest

from chalicelib.channels.email import HeaderInjection, OutgoingEmail, compose
from chalicelib.messaging.sandbox import default_template, render_message
from chalicelib.tenants.branding import company_variables


def mail(**overrides: str) -> OutgoingEmail:
    fields = {
        "from_address": "avisos@cargas.example",
        "from_name": "Cargas",
        "to_address": "ana@example.com",
        "to_name": "Ana García",
        "subject": "Su envío",
        "text": "Hola",
        "html": "<p>Hola</p>",
    }
    return OutgoingEmail(**(fields | overrides))  # type: ignore[arg-type]


def test_a_composed_message_has_a_plain_text_alternative_and_a_message_id() -> None:
    message = compose(mail(), message_id="<abc@cargas.example>")
    assert message["Message-ID"] == "<abc@cargas.example>"
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]


def test_a_fragment_goes_inside_a_whole_document_and_a_whole_document_as_it_is() -> None:
    # Given a company's template written as a paragraph, and one written whole after a comment
    whole = "<!-- ours -->\n<!DOCTYPE html><html lang='en'><head><title>T</title></head><body>x</body></html>"
    # When each is composed
    fragment = compose(mail(subject="Aviso <urgente> & más"), message_id="<a@b.example>")
    kept = compose(mail(html=whole), message_id="<a@b.example>")
    # Then the fragment is in Pregón's document (doctype, UTF-8, the subject as its title), untouched
    html = fragment.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert html.startswith('<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n')
    assert "<title>Aviso &lt;urgente&gt; &amp; más</title>" in html and "<body>\n<p>Hola</p>\n</body>" in html
    # And the whole one is sent as the company wrote it
    assert kept.get_body(("html",)).get_content() == whole + "\n"  # type: ignore[union-attr]


@pytest.mark.parametrize("field", ["subject", "to_name", "from_name", "to_address"])
def test_line_breaks_in_any_header_are_refused(field: str) -> None:
    with pytest.raises(HeaderInjection, match=field.split("_")[0]):
        compose(mail(**{field: "x\r\nBcc: victim@example.com"}), message_id="<a@b>")


@pytest.mark.parametrize(
    "hidden", ["\u202e", "\u202a", "\u2066", "\u2069", "\u200e", "\u200b", "\u200d", "\ufeff", "\x07"]
)
def test_bidi_and_zero_width_characters_stored_in_names_never_reach_from_or_to(hidden: str) -> None:
    # Given names stored before they were checked, carrying an invisible character
    message = compose(
        mail(from_name=f"Banco{hidden} Nación", to_name=f"Ana{hidden}gnp.exe"), message_id="<a@b>"
    )
    # When the message is written out, Then From and To carry the names without it
    raw = message.as_bytes()
    assert message["From"].addresses[0].display_name == "Banco Nación"
    assert message["To"].addresses[0].display_name == "Anagnp.exe"
    assert hidden.encode() not in raw and hidden.encode("utf-8") not in raw


def test_an_attachment_named_like_a_path_is_attached_under_its_base_name() -> None:
    message = compose(
        mail(attachments=(("../../../etc/passwd.pdf", "application/pdf", b"%PDF-1.4"),)),  # type: ignore[arg-type]
        message_id="<a@b>",
    )
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "passwd.pdf"
    assert b"../" not in message.as_bytes()


@pytest.mark.parametrize(
    ("name", "fallback"),
    [
        ('Aviso «fibra» "100%"; C:\\x.pdf', "x.pdf"),  # a path: its base name only
        ('Aviso «fibra» "100%"; 12€.pdf', "Aviso _fibra_ _100_ 12EUR.pdf"),
        ("Æsir Straße Łódź – Œuvre.pdf", "AEsir Strasse Lodz - OEuvre.pdf"),
        ("見積書.pdf", "_.pdf"),
    ],
)
def test_an_attachments_ascii_name_holds_nothing_a_quoted_parameter_or_a_file_system_takes_badly(
    name: str, fallback: str
) -> None:
    from email import message_from_bytes, policy

    from chalicelib.channels.email import wire_of
    from tests.steps.mail import wire_problems

    # Given an attachment whose name holds quotes, a semicolon, a percent sign and letters with
    # no ASCII spelling
    message = compose(mail(attachments=((name, "application/pdf", b"%PDF-1.4"),)), message_id="<a@b.example>")  # type: ignore[arg-type]
    # When it is written out as it goes on the wire
    wire = wire_of(message)
    assert wire is not None
    # Then its ASCII spelling is a plain quoted string, and the name itself comes back whole
    assert wire_problems(wire.data) == []
    assert (
        f' filename="{fallback}"\r\n'.encode() in wire.data
        and f' name="{fallback}"\r\n'.encode() in wire.data
    )
    [attachment] = list(message_from_bytes(wire.data, policy=policy.default).iter_attachments())
    assert attachment.get_filename() == name.rpartition("\\")[2]


def test_list_unsubscribe_is_written_unfolded_and_unencoded_also_for_ses_raw_messages() -> None:
    # Given a message with an unsubscribe URL far longer than 78 columns
    url = "https://pregon.example/public/manual-sends/unsubscribe?token=" + "eyJhbGciOiJIUzI1NiJ9" * 10
    headers = {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    # When it is written as the raw bytes SES sends
    raw = compose(mail(headers=headers), message_id="<a@b>").as_bytes()  # type: ignore[arg-type]
    # Then the header is one line, the URL as given (RFC 2369), under RFC 5322's 998 characters
    assert f"\nList-Unsubscribe: <{url}>\n".encode() in raw
    assert b"\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\n" in raw


def test_subscriber_values_are_escaped_in_html_but_readable_in_text() -> None:
    # Given a subscriber whose name is markup
    variables = {
        "company": company_variables(None, "Cargas & Co"),
        "subscriber": {"first_name": "<script>alert(1)</script>", "last_name": "X"},
        "subscription": {"expires_on": "2026-12-01"},
        "parcel": {"tracking_id": "T-1"},
        "novelty": {
            "status_name": "Entregado",
            "occurred_at": "x",
            "reason": None,
            "observation": "<b>ok</b>",
        },
        "unsubscribe_url": "https://pregon.test/u?token=a&b",
    }
    # When the default alert renders
    rendered = render_message(default_template("tracking_alert", "es"), variables)
    # Then the HTML is escaped and the subject / text are not HTML-escaped
    assert "<script>" not in rendered.html and "&lt;script&gt;" in rendered.html
    assert "&lt;b&gt;ok&lt;/b&gt;" in rendered.html
    assert rendered.subject.startswith("Cargas & Co:")
    assert "<script>alert(1)</script>" in rendered.text


def test_the_sandbox_refuses_python_internals() -> None:
    from jinja2.exceptions import SecurityError

    source = ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "t", "<p>h</p>")
    with pytest.raises(SecurityError):
        render_message(source, {})


def test_english_templates_exist_for_english_companies() -> None:
    subject, text, html = default_template("tracking_alert", "en")
    assert "your parcel" in subject and "Hello" in text and 'lang="en"' in html
