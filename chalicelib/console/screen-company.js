// The company's settings (Z1, C9, T4) for administrators: the language of its messages, its country,
// time zone and locale (every time, day and amount a person reads is in them), whether staff are
// asked for a parcel's contacts at issue, and the payment SMS. GET /company reads them (any level),
// PATCH /company changes them (level 1); the console shows times in the new zone at once.
import { api, clearErrors, companyChanged, fill, h, register, showErrors, when } from "./app.js";
import { companyFormat } from "./screen-kit.js";

const LANGUAGES = [
  ["es", "Español"],
  ["en", "Inglés"],
];
const TEXTS = [
  ["country", "País (ISO 3166, dos letras: AR, ES, MX)", 2],
  ["time_zone", "Zona horaria (IANA: America/Argentina/Buenos_Aires, Europe/Madrid)", 64],
  ["locale", "Formato regional (es_AR, es_ES, en_US)", 16],
];
// The country's form, checked here as the API checks it: the API's refusal of another form names its
// rule as a regular expression ("no tiene el formato esperado (^[A-Za-z]{2}$)"), which no office
// reader can follow. The browser's check says it in words (app.js's validityMessage reads `title`).
const PATTERNS = {
  country: { pattern: "[A-Za-z]{2}", title: "Escriba las dos letras del país, como AR, ES o MX." },
};
const CHECKS = [
  ["ask_tracking_contacts", "Pedir los contactos de seguimiento al emitir un envío"],
  ["sms_on_automatic_payments", "SMS por los pagos registrados automáticamente"],
  ["sms_on_manual_payments", "SMS por los pagos que registra un operador"],
];

function zones() {
  try {
    return Intl.supportedValuesOf("timeZone");
  } catch {
    return [];
  }
}

async function render(main, ctx) {
  await companyFormat();
  const settings = await api("GET", "/company");
  const language = h(
    "select",
    { id: "company-language", name: "language" },
    LANGUAGES.map(([value, text]) => h("option", { value }, text)),
  );
  language.value = settings.language || "es";
  const texts = TEXTS.map(([name, , max]) =>
    h("input", {
      id: `company-${name}`,
      name,
      value: settings[name] ?? "",
      required: true,
      maxlength: String(max),
      autocomplete: "off",
      ...(name === "time_zone" ? { list: "company-zones" } : {}),
      ...(PATTERNS[name] || {}),
    }),
  );
  const checks = CHECKS.map(([name]) => {
    const box = h("input", { type: "checkbox", id: `company-${name}`, name });
    box.checked = Boolean(settings[name]);
    return box;
  });
  const form = h(
    "form",
    { id: "company-settings-form", "aria-label": "Ajustes de la empresa" },
    h("span", { class: "field" }, h("label", { for: language.id }, "Idioma de los mensajes"), language),
    TEXTS.map(([, label], i) => h("span", { class: "field" }, h("label", { for: texts[i].id }, label), texts[i])),
    h("datalist", { id: "company-zones" }, zones().map((zone) => h("option", { value: zone }))),
    CHECKS.map(([, label], i) => h("span", { class: "field" }, h("label", {}, checks[i], " ", label))),
    h("button", { type: "submit" }, "Guardar"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const body = { language: language.value };
    for (const input of texts) body[input.name] = input.value.trim();
    for (const box of checks) body[box.name] = box.checked;
    try {
      // saved only if no one else saved the settings since this screen loaded them (the form sends
      // every field, theirs too)
      companyChanged(await api("PATCH", "/company", body, { ifMatch: settings.etag }));
      ctx.toast("Ajustes de la empresa guardados.");
      await render(main, ctx);
    } catch (error) {
      showErrors(form, error);
    }
  });
  fill(main,
    h("h1", {}, "Ajustes de la empresa"),
    h(
      "p",
      { class: "hint", id: "company-status" },
      `${settings.name} (${settings.company_id}). Hora de la empresa ahora: `,
      h("strong", { id: "company-now" }, when(new Date().toISOString())),
      ". Toda hora, día e importe que lee una persona (consola, correos, PDF, planillas) se muestra en esta zona y formato.",
    ),
    h("div", { class: "card" }, form),
  );
}

register({ id: "company", title: "Ajustes de la empresa", group: "Configuración", levels: [1], render });
