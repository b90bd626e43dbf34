// Branding (W3) on the staff console: the screen where an administrator sets the company's logo,
// colours and public tracking page URL (with a live sample), and the console's own header and
// navigation in those colours with the logo, for every signed-in level (docs/web.md, "Branding on
// the console"). Colours reach the page only through the CSSOM (custom properties set with
// style.setProperty) and console-brand.css: no inline <style>, no style attribute written as text.
import { api, ApiError, clearErrors, fill, h, register, showErrors } from "./app.js";

const COLOR = /^#[0-9A-Fa-f]{6}$/;
const MAX_LOGO_BYTES = 200 * 1024; // the API's limit (PUT /company/branding/logo)
const LOGO_TYPES = ["image/png", "image/jpeg"];
// The shell's own colours, used until the company sets its own (console.css's --accent).
const SHELL = { accent: "#1d4e89", ink: "#ffffff" };

// --- colours ------------------------------------------------------------------------------------

// WCAG's contrast ratio of two #RRGGBB colours (1 to 21), and the 4.5:1 text needs (AA).
const READABLE = 4.5;
function luminance(color) {
  const channels = [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16) / 255);
  const linear = channels.map((c) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2];
}
export function contrast(first, second) {
  const [darker, lighter] = [luminance(first), luminance(second)].sort((a, b) => a - b);
  return (lighter + 0.05) / (darker + 0.05);
}

// White or near-black, whichever contrasts more with `color`, and black when that one still reads
// below 4.5:1 (a mid-tone): the same rule as the server's readable_on (chalicelib/tenants/branding.py),
// for the live sample.
export function readableOn(color) {
  const best = contrast(color, "#FFFFFF") >= contrast(color, "#1A1A1A") ? "#FFFFFF" : "#1A1A1A";
  return contrast(color, best) >= READABLE ? best : "#000000";
}

// An uploaded logo is served by this same app: load it from the console's own origin (and API
// Gateway stage), as the tracking page does, whatever public base URL the e-mails use.
function logoSource(brand) {
  if (!brand || !brand.logo_url) return null;
  if (brand.logo_source !== "upload") return brand.logo_url;
  const at = brand.logo_url.indexOf("/brand/");
  if (at < 0) return brand.logo_url;
  return location.pathname.replace(/console\/?$/, "") + brand.logo_url.slice(at + 1);
}

// --- the console's header in the company's colours ------------------------------------------------

function stylesheet() {
  if (document.getElementById("console-brand-css")) return;
  const href = new URL("console-brand.css", import.meta.url).pathname;
  document.head.appendChild(h("link", { id: "console-brand-css", rel: "stylesheet", href }));
}

// Show `brand` (GET /company/branding's answer) in the header and navigation; null puts back the
// shell's own look. The primary colour becomes the console's accent (buttons, links, the current
// screen in the navigation) only when it reads on the console's ground at 4.5:1, as on the
// tracking page; the header band always takes it, with its readable text colour and the accent
// colour as its bottom rule.
export function applyBrand(brand, companyName) {
  const root = document.documentElement.style;
  const header = document.querySelector("header.top");
  const old = document.getElementById("console-logo");
  if (old) old.remove();
  if (!brand) {
    for (const name of ["--brand", "--brand-ink", "--brand-accent", "--accent", "--accent-ink"]) root.removeProperty(name);
    if (header) header.classList.remove("branded");
    return;
  }
  stylesheet();
  const { primary, accent, on_primary: onPrimary } = brand.colors;
  root.setProperty("--brand", primary);
  root.setProperty("--brand-ink", onPrimary);
  root.setProperty("--brand-accent", accent);
  // Links are the accent colour on the console's ground (console.css --ground): the primary colour
  // takes that place only where it reads there at 4.5:1 (white on it then reads too).
  if (onPrimary === "#FFFFFF" && contrast(primary, "#f3f5f8") >= READABLE) {
    root.setProperty("--accent", primary);
    root.setProperty("--accent-ink", onPrimary);
  } else {
    root.removeProperty("--accent");
    root.removeProperty("--accent-ink");
  }
  if (!header) return;
  header.classList.add("branded");
  const source = logoSource(brand);
  if (source) {
    // A logo that does not load (an https URL gone away) leaves the header as the shell draws it.
    const logo = h("img", { id: "console-logo", class: "console-logo", src: source, alt: companyName || "", onerror: () => logo.remove() });
    header.prepend(logo);
  }
}

async function loadBrand() {
  const who = document.getElementById("who").textContent;
  try {
    const [brand, company] = await Promise.all([api("GET", "/company/branding"), api("GET", "/company").catch(() => null)]);
    if (document.getElementById("who").textContent !== who) return; // signed out (or in as another) meanwhile
    applyBrand(brand, company && company.name);
  } catch (error) {
    applyBrand(null); // the console works in its own colours when the branding cannot be read
  }
}

// The shell writes who is signed in into #who (and empties it on sign-out): follow it, so the
// header takes the company's look after every sign-in and reload, and drops it on sign-out.
function followSignIn() {
  const who = document.getElementById("who");
  if (!who) return;
  let shownFor = "";
  new MutationObserver(() => {
    const now = who.textContent.trim();
    if (now === shownFor) return;
    shownFor = now;
    if (now) loadBrand(); // signed in (or in again, maybe as someone of another company)
    else applyBrand(null);
  }).observe(who, { childList: true, characterData: true, subtree: true });
}

// --- the screen ---------------------------------------------------------------------------------

function readFile(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

function colorField(id, name, label, value) {
  const text = h("input", { id, name, value, maxlength: 7, size: 8, spellcheck: "false", autocomplete: "off", "aria-describedby": `${id}-hint` });
  const picker = h("input", { id: `${id}-picker`, type: "color", value: COLOR.test(value) ? value.toLowerCase() : "#000000", "aria-label": `${label} (selector)` });
  picker.addEventListener("input", () => {
    text.value = picker.value.toUpperCase();
    text.dispatchEvent(new Event("input"));
  });
  text.addEventListener("input", () => {
    if (COLOR.test(text.value.trim())) picker.value = text.value.trim().toLowerCase();
  });
  const wrap = h(
    "span",
    { class: "field" },
    h("label", { for: id }, label),
    h("span", { class: "color-pair" }, picker, text),
    h("span", { class: "hint", id: `${id}-hint` }, "#RRGGBB"),
  );
  return { wrap, text, picker };
}

// An <img> must have a src (HTML): with no logo the image leaves the page, a comment holding its
// place until there is one again.
function placeImage(img, spot, src) {
  if (src) {
    img.setAttribute("src", src);
    if (spot.parentNode) spot.replaceWith(img);
  } else if (img.parentNode) {
    img.removeAttribute("src");
    img.replaceWith(spot);
  }
}

// The live sample: the header band of an e-mail or page in the colours being edited.
function sample(companyName) {
  const logo = h("img", { class: "sample-logo", alt: companyName });
  const logoSpot = document.createComment("logo");
  const name = h("span", { class: "sample-name" }, companyName);
  const band = h("div", { class: "sample-band" }, logo, name);
  const button = h("span", { class: "sample-button" }, "Ver su envío");
  const box = h(
    "figure",
    { class: "brand-sample", id: "brand-sample", "aria-label": "Muestra" },
    band,
    h("div", { class: "sample-body" }, h("p", {}, "Su envío tiene novedades."), button),
    h("figcaption", { class: "hint" }, "Muestra: así se ven el logo y los colores en los correos y la página de seguimiento."),
  );
  function update(primary, accent, logoSrc) {
    if (COLOR.test(primary)) {
      box.style.setProperty("--sample-primary", primary);
      box.style.setProperty("--sample-on-primary", readableOn(primary));
    }
    if (COLOR.test(accent)) {
      box.style.setProperty("--sample-accent", accent);
      box.style.setProperty("--sample-on-accent", readableOn(accent));
    }
    placeImage(logo, logoSpot, logoSrc);
    name.hidden = Boolean(logoSrc);
  }
  return { box, update };
}

async function render(main, ctx) {
  stylesheet();
  const [loaded, company] = await Promise.all([api("GET", "/company/branding"), api("GET", "/company").catch(() => null)]);
  const companyName = (company && company.name) || ctx.user.company_id;
  let brand = loaded;
  let pendingLogo = null; // a chosen file's data: URL, shown in the sample before it is uploaded

  const live = sample(companyName);
  const primary = colorField("brand-primary", "primary_color", "Color principal", brand.colors.primary);
  const accent = colorField("brand-accent", "accent_color", "Color de acento", brand.colors.accent);
  const pageUrl = h("input", {
    id: "brand-page-url",
    name: "tracking_page_url",
    type: "url",
    value: brand.tracking_page_url || "",
    placeholder: "https://www.ejemplo.com/seguimiento?envio={tracking_id}",
    size: 60,
    "aria-describedby": "brand-page-example",
  });
  const example = h("p", { class: "hint", id: "brand-page-example" });
  // The postal address every default e-mail prints at its foot: plain lines, as on an envelope.
  const postalAddress = h("textarea", {
    id: "brand-postal-address",
    name: "postal_address",
    rows: 4,
    cols: 50,
    autocomplete: "street-address",
    "aria-describedby": "brand-postal-address-hint",
  });
  postalAddress.value = brand.postal_address || "";
  const currentLogo = h("img", { id: "brand-current-logo", class: "current-logo", alt: `Logo de ${companyName}` });
  const currentLogoSpot = document.createComment("logo");
  const noLogo = h("p", { class: "hint", id: "brand-no-logo" }, "Sin logo: los correos y la página muestran el nombre de la empresa.");
  const logoSourceText = h("p", { class: "hint", id: "brand-logo-source" });
  const file = h("input", { id: "brand-logo-file", name: "content_base64", type: "file", accept: LOGO_TYPES.join(",") });
  const logoUrl = h("input", { id: "brand-logo-url", name: "logo_url", type: "url", size: 50, placeholder: "https://…/logo.png", value: brand.logo_source === "url" ? brand.logo_url : "" });
  const remove = h("button", { type: "button", class: "danger", id: "brand-logo-remove" }, "Quitar el logo");

  function shown() {
    const source = logoSource(brand);
    placeImage(currentLogo, currentLogoSpot, source);
    noLogo.hidden = Boolean(source);
    remove.disabled = !source;
    logoSourceText.textContent = !source ? "" : brand.logo_source === "upload" ? "Archivo subido (PNG o JPEG)." : `Dirección: ${brand.logo_url}`;
    example.textContent = `Un aviso enlaza, por ejemplo: ${brand.tracking_page_example}`;
    live.update(primary.text.value.trim(), accent.text.value.trim(), pendingLogo || source);
  }

  function saved(answer, message) {
    brand = answer;
    pendingLogo = null;
    postalAddress.value = brand.postal_address || ""; // as e-mails print it: lines trimmed
    shown();
    applyBrand(answer, companyName);
    ctx.toast(message);
  }

  for (const input of [primary.text, accent.text]) input.addEventListener("input", shown);

  // The logo: upload a PNG or JPEG (sent as base64), give an https URL instead, or remove it.
  const upload = h(
    "form",
    { id: "brand-logo-form", "aria-label": "Subir el logo" },
    h("span", { class: "field" }, h("label", { for: file.id }, "Archivo del logo (PNG o JPEG, hasta 200 kB; SVG no)"), file),
    h("button", { type: "submit" }, "Subir el logo"),
  );
  file.addEventListener("change", async () => {
    clearErrors(upload);
    const chosen = file.files[0];
    pendingLogo = chosen && LOGO_TYPES.includes(chosen.type) ? await readFile(chosen) : null;
    shown();
  });
  upload.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(upload);
    const chosen = file.files[0];
    const refuse = (message) => showErrors(upload, new ApiError(422, message, { content_base64: message }));
    if (!chosen) return refuse("elija un archivo PNG o JPEG");
    if (chosen.size > MAX_LOGO_BYTES) return refuse(`el logo pesa más de ${MAX_LOGO_BYTES / 1024} kB`);
    try {
      const data = await readFile(chosen);
      const logo = { content_base64: data.slice(data.indexOf(",") + 1) };
      const answer = await api("PUT", "/company/branding/logo", logo, { ifMatch: brand.etag });
      file.value = "";
      saved(answer, "Logo guardado.");
    } catch (error) {
      showErrors(upload, error);
    }
  });
  const byUrl = h(
    "form",
    { id: "brand-logo-url-form", "aria-label": "Logo por dirección" },
    h("span", { class: "field" }, h("label", { for: logoUrl.id }, "O la dirección https de un logo propio"), logoUrl),
    h("button", { type: "submit", class: "secondary" }, "Usar esta dirección"),
  );
  byUrl.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(byUrl);
    try {
      const edit = { logo_url: logoUrl.value.trim() || null };
      saved(await api("PATCH", "/company/branding", edit, { ifMatch: brand.etag }), "Logo guardado.");
    } catch (error) {
      showErrors(byUrl, error);
    }
  });
  remove.addEventListener("click", async () => {
    clearErrors(upload);
    try {
      saved(await api("DELETE", "/company/branding/logo", undefined, { ifMatch: brand.etag }), "Logo quitado.");
      logoUrl.value = "";
    } catch (error) {
      showErrors(upload, error);
    }
  });

  // Colours, the tracking page's URL and the postal address: only what changed is sent; an emptied
  // field goes back to Pregón's default (null).
  const settings = h(
    "form",
    { id: "brand-form", "aria-label": "Colores, página de seguimiento y dirección postal", novalidate: true },
    h("div", { class: "row" }, primary.wrap, accent.wrap),
    h(
      "div",
      { class: "field" },
      h("label", { for: pageUrl.id }, "Página de seguimiento propia (https, con {tracking_id}; vacío: la de Pregón)"),
      pageUrl,
      example,
    ),
    h(
      "div",
      { class: "field" },
      h("label", { for: postalAddress.id }, "Dirección postal de la empresa"),
      postalAddress,
      h(
        "p",
        { class: "hint", id: "brand-postal-address-hint" },
        "Se imprime al pie de cada correo, como piden las leyes de correo comercial (CAN-SPAM, LSSI): " +
          "hasta 6 líneas y 300 caracteres, sin HTML. Vacía: ninguna.",
      ),
    ),
    h("button", { type: "submit" }, "Guardar colores, página y dirección"),
  );
  settings.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(settings);
    const body = {};
    const now = {
      primary_color: primary.text.value.trim(),
      accent_color: accent.text.value.trim(),
      tracking_page_url: pageUrl.value.trim(),
    };
    const before = {
      primary_color: brand.colors.primary,
      accent_color: brand.colors.accent,
      tracking_page_url: brand.tracking_page_url || "",
    };
    for (const [name, value] of Object.entries(now)) {
      if (value.toUpperCase() !== String(before[name]).toUpperCase()) body[name] = value || null;
    }
    const address = postalAddress.value.trim();
    if (address !== (brand.postal_address || "")) body.postal_address = address || null;
    if (!Object.keys(body).length) {
      ctx.toast("No hay cambios.");
      return;
    }
    try {
      // saved only if no one else saved the branding since this screen loaded it (or last saved it)
      saved(await api("PATCH", "/company/branding", body, { ifMatch: brand.etag }), "Marca guardada.");
    } catch (error) {
      showErrors(settings, error);
    }
  });

  fill(main,
    h("h1", {}, "Marca de la empresa"),
    h(
      "p",
      { class: "hint" },
      "El logo y los colores se ven en todos los correos, en la página pública de seguimiento y en esta consola; " +
        "cada aviso de seguimiento enlaza el envío en la página de seguimiento.",
    ),
    live.box,
    h("section", { class: "card", "aria-labelledby": "brand-logo-title" }, h("h2", { id: "brand-logo-title" }, "Logo"), currentLogo, noLogo, logoSourceText, upload, remove, byUrl),
    h("section", { class: "card", "aria-labelledby": "brand-colors-title" }, h("h2", { id: "brand-colors-title" }, "Colores, página de seguimiento y dirección"), settings),
  );
  shown();
}

register({ id: "branding", title: "Marca de la empresa", group: "Configuración", levels: [1], render });
followSignIn();
