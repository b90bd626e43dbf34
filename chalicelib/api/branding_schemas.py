"""Request and response models of the branding routes (W3)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.api.schemas import ETAG_FIELD


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class BrandingIn(_Strict):
    """Only the fields given change; `null` clears one (back to the default)."""

    logo_url: str | None = Field(
        default=None,
        max_length=1000,
        description="An https URL of the logo on the company's own site (replaces an uploaded logo).",
    )
    primary_color: str | None = Field(default=None, max_length=7, description="#RRGGBB, e.g. #1F4E79.")
    accent_color: str | None = Field(default=None, max_length=7, description="#RRGGBB, e.g. #E8A33D.")
    tracking_page_url: str | None = Field(
        default=None,
        max_length=1000,
        description="The public tracking page on the company's site, https, with `{tracking_id}` where "
        "the parcel's id goes (else `?tracking_id=` is added); `null`: Pregón's page /track/{company}.",
    )
    postal_address: str | None = Field(
        default=None,
        max_length=400,
        description="The company's postal address, which every default e-mail's footer prints (CAN-SPAM, "
        "LSSI art. 10): plain text, at most 6 lines (`\\n` between them) and 300 characters, no HTML; "
        "`null`: none printed.",
    )


class BrandingLogoIn(_Strict):
    # No max_length: pydantic's "at most N characters" would answer a big logo before the clear
    # "the logo is larger than 200 kB" does (the route caps the body, decode_upload the length).
    content_base64: str = Field(
        description="A PNG or JPEG of at most 200 kB, base64 (SVG is refused); a bigger one is 422 "
        "`the logo is larger than 200 kB`."
    )


class BrandingColorsOut(BaseModel):
    primary: str
    accent: str
    on_primary: str = Field(description="The text colour that reads on the primary one.")
    on_accent: str


class BrandingOut(BaseModel):
    logo_url: str | None = Field(description="The logo as e-mails and pages load it (None: no logo).")
    logo_source: str | None = Field(description="`url` (the company's), `upload` (served by Pregón) or None.")
    logo_width: int | None = Field(description="An uploaded logo's width in px as e-mails show it.")
    logo_height: int | None = Field(description="Its height in px as e-mails show it (48, or less if wide).")
    colors: BrandingColorsOut
    colors_set: bool = Field(description="False while the default colours are used.")
    tracking_page_url: str | None = Field(description="The setting; None: Pregón's page.")
    postal_address: str | None = Field(description="The postal address e-mails print, lines apart by `\\n`.")
    tracking_page_example: str = Field(description="Where an alert for parcel EXAMPLE-1 would link.")
    stylesheet_url: str = Field(description="The tracking page's stylesheet of the company's colours.")
    etag: str = Field(description=ETAG_FIELD)
