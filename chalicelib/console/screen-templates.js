// Templates (C4, C6, C7): the list of message types; edit a template's subject, HTML, text, SMS and
// push with a variables picker and a live preview rendered by the server's sandbox. The tenant's HTML
// is shown only inside <iframe sandbox> (no scripts, an opaque origin); everything else is text.
import { api, AREA_NAMES, areaName, clearErrors, fill, h, register, segment, showErrors, templateTitle, when } from "./app.js";

const PARTS = [
  ["subject", "Asunto", 1],
  ["html", "Cuerpo HTML", 12],
  ["text", "Texto plano", 8],
  ["sms_text", "SMS (%variables%)", 3],
  ["push_title", "Título del push (%variables%)", 1],
  ["push_body", "Texto del push (%variables%)", 3],
];
const PERCENT_PARTS = new Set(["sms_text", "push_title", "push_body"]);

// A company's own template for manual sends (custom:<slug>): with an SMS message typed, an SMS-only
// template of just that (seed 002's "Agregar sms": a name and the message); else a minimal e-mail.
function newCustom(ctx) {
  const slug = h("input", { id: "template-new-key", name: "key", required: true, maxlength: 40, autocomplete: "off" });
  const sms = h("input", { id: "template-new-sms_text", name: "sms_text", maxlength: 1600, autocomplete: "off" });
  const form = h(
    "form",
    { id: "template-new-form", class: "row", "aria-label": "Nueva plantilla propia" },
    h("span", { class: "field" }, h("label", { for: slug.id }, "Nueva plantilla propia: nombre (minúsculas, dígitos, - o _)"), slug),
    h("span", { class: "field" }, h("label", { for: sms.id }, "Mensaje SMS (%variables%; si lo escribe, la plantilla es solo de SMS)"), sms),
    h("button", { type: "submit" }, "Crear"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const key = `custom:${slug.value.trim()}`;
    try {
      await api("PUT", `/templates/${segment(key)}`, sms.value.trim() ? { sms_text: sms.value } : {
        subject: "{{ company.name }}",
        text: "Hola:\n\n{{ company.name }}",
        html: "<p>Hola:</p>\n<p>{{ company.name }}</p>",
      });
      ctx.navigate("templates", { key });
    } catch (error) {
      showErrors(form, error);
    }
  });
  return form;
}

async function list(main, ctx) {
  const templates = await api("GET", "/templates");
  fill(main,
    h("h1", {}, "Plantillas"),
    h("p", { class: "hint" }, "Una plantilla por tipo de mensaje; las de la empresa reemplazan a las predeterminadas."),
    newCustom(ctx),
    h(
      "table",
      { id: "templates" },
      h("thead", {}, h("tr", {}, ["Plantilla", "Clave", "Cuenta (área)", "Propia", "Cambiada"].map((t) => h("th", { scope: "col" }, t)))),
      h(
        "tbody",
        {},
        templates.items.map((t) =>
          h(
            "tr",
            { "data-template": t.key },
            h("th", { scope: "row" }, h("a", { href: `#/templates?key=${encodeURIComponent(t.key)}` }, templateTitle(t))),
            h("td", {}, h("code", {}, t.key)),
            h("td", {}, areaName(t.sender_area)),
            h("td", {}, t.customized ? "Sí" : "No (predeterminada)"),
            h("td", {}, when(t.updated_at)),
          ),
        ),
      ),
    ),
  );
}

function insertAt(area, text) {
  const start = area.selectionStart ?? area.value.length;
  const end = area.selectionEnd ?? area.value.length;
  area.value = area.value.slice(0, start) + text + area.value.slice(end);
  area.selectionStart = area.selectionEnd = start + text.length;
  area.focus();
  area.dispatchEvent(new Event("input"));
}

async function editor(main, ctx, key) {
  let template;
  try {
    template = await api("GET", `/templates/${segment(key)}`);
  } catch (error) {
    if (error.status !== 404) throw error;
    fill(main,
      h("p", {}, h("a", { href: "#/templates" }, "← Plantillas")),
      h("h1", {}, "Plantillas"),
      h("p", { class: "form-error", role: "alert" }, `No hay una plantilla «${key}».`),
    );
    return;
  }
  let etag = template.etag; // the version this editor shows: saved only if no one else saved since
  const inputs = {};
  let focused = null;
  for (const [name, , rows] of PARTS) {
    const id = `template-${name}`;
    inputs[name] = rows === 1
      ? h("input", { id, name, value: template[name] ?? "", autocomplete: "off", spellcheck: "false" })
      : h("textarea", { id, name, rows, spellcheck: "false" }, template[name] ?? "");
    inputs[name].addEventListener("focus", () => {
      focused = name;
    });
  }
  const picker = (variables, percent) =>
    h(
      "div",
      { class: "chips", role: "group", "aria-label": percent ? "Variables de SMS y push" : "Variables" },
      variables.map((v) =>
        h(
          "button",
          {
            type: "button",
            title: v.description,
            onmousedown: (event) => event.preventDefault(), // keep the caret where it was
            onclick: () => {
              // {{ jinja }} variables go into the e-mail's parts, %sms% ones into the SMS and push
              // texts: into the field last focused when it is of the chip's kind, else the first.
              const fits = focused && PERCENT_PARTS.has(focused) === percent;
              const target = inputs[fits ? focused : percent ? "sms_text" : "html"];
              insertAt(target, percent ? `%${v.name.replace(/^%|%$/g, "")}%` : `{{ ${v.name} }}`);
            },
          },
          v.name,
        ),
      ),
    );

  const frame = h("iframe", {
    id: "template-preview",
    class: "preview-frame",
    title: "Vista previa del e-mail",
    sandbox: "", // no scripts, no forms, no top navigation, an opaque origin
    referrerpolicy: "no-referrer",
  });
  const subjectShown = h("p", { id: "preview-subject", class: "answer" });
  const textShown = h("pre", { id: "preview-text", class: "answer" });
  const smsShown = h("p", { id: "preview-sms", class: "answer" });
  const pushShown = h("p", { id: "preview-push", class: "answer" });
  const previewState = h("p", { class: "hint", role: "status" });
  // What the server found the template may cost it (a short HTML with an image scores as spam):
  // warnings, never errors; the save goes through, and the list follows each preview and save.
  const warningList = h("ul", {});
  const warningsShown = h("div", { id: "template-warnings", class: "template-warnings", role: "status", hidden: true }, warningList);
  function showWarnings(warnings) {
    warningList.replaceChildren(...(warnings || []).map((w) => h("li", { "data-code": w.code }, w.warning)));
    warningsShown.hidden = !warningList.children.length;
  }
  // Seed 002's "Correo saliente" (b1, c1, d1, e1): the area whose sender account sends this message.
  const area = h(
    "select",
    { id: "template-sender_area", name: "sender_area" },
    Object.entries(AREA_NAMES).map(([code, name]) => h("option", { value: code }, `Cuenta del área ${name}`)),
  );
  area.value = template.sender_area;
  const form = h(
    "form",
    { id: "template-form", "aria-label": templateTitle(template) },
    PARTS.map(([name, label]) => h("div", { class: "field" }, h("label", { for: `template-${name}` }, label), inputs[name])),
    h("div", { class: "field" }, h("label", { for: "template-sender_area" }, "Se envía desde"), area),
    h("div", { class: "row" }, h("button", { type: "submit" }, "Guardar"), h("button", { type: "button", class: "danger", id: "template-reset" }, "Volver a la predeterminada")),
  );

  // Only what the user typed: an empty SMS/push text keeps the default, and a custom template whose
  // subject, HTML and text are left empty is saved without e-mail (an SMS-only one, seed 002's "Agregar sms").
  const custom = key.startsWith("custom:");
  function edits(saving = false) {
    const body = {};
    for (const [name] of PARTS) {
      const value = inputs[name].value;
      if (value.trim() || !(PERCENT_PARTS.has(name) || (saving && custom))) body[name] = value;
    }
    if (saving && area.value !== template.sender_area) body.sender_area = area.value; // only when changed
    return body;
  }

  let pending = null;
  let asked = 0;
  async function preview() {
    const number = ++asked;
    previewState.textContent = "Actualizando la vista previa…";
    try {
      const shown = await api("POST", `/templates/${segment(key)}/preview`, edits());
      if (number !== asked) return;
      clearErrors(form, { keepNotice: true });
      frame.srcdoc = shown.html;
      subjectShown.textContent = shown.subject;
      textShown.textContent = shown.text;
      smsShown.textContent = `${shown.sms_text}  (${shown.sms_segments} SMS, ${shown.sms_encoding})`;
      pushShown.textContent = `${shown.push_title} — ${shown.push_body}`;
      showWarnings(shown.warnings);
      previewState.textContent = "Vista previa con datos de ejemplo.";
    } catch (error) {
      if (number !== asked) return;
      previewState.textContent = "La vista previa no se pudo generar.";
      showErrors(form, error);
    }
  }
  form.addEventListener("input", () => {
    clearTimeout(pending);
    pending = setTimeout(preview, 350);
  });
  // the header names the account it is sent from: said again after each save, which may change it
  const summaryText = () =>
    `Clave ${template.key} · cuenta del área ${areaName(template.sender_area)} · en ${{ es: "español", en: "inglés" }[template.language] || template.language}` +
    (template.customized ? " · propia" : " · predeterminada");
  const summary = h("p", { class: "hint", id: "template-summary" }, summaryText());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    try {
      const saved = await api("PUT", `/templates/${segment(key)}`, edits(true), { ifMatch: etag });
      etag = saved.etag;
      template.sender_area = saved.sender_area;
      template.customized = saved.customized;
      summary.textContent = summaryText();
      showWarnings(saved.warnings);
      ctx.toast(saved.warnings && saved.warnings.length ? "Plantilla guardada, con un aviso: vea la vista previa." : "Plantilla guardada.");
    } catch (error) {
      showErrors(form, error);
    }
  });
  form.querySelector("#template-reset").addEventListener("click", async () => {
    if (!window.confirm("¿Descartar la plantilla propia y volver a la predeterminada?")) return;
    try {
      await api("DELETE", `/templates/${segment(key)}`);
      ctx.toast("Se usa la plantilla predeterminada.");
      await editor(main, ctx, key);
    } catch (error) {
      ctx.toast(error.message, "error");
    }
  });

  const to = h("input", { id: "template-test-to", name: "to", type: "email", autocomplete: "email" });
  // By e-mail, or its SMS text by SMS to a phone (C3; an SMS-only template has only that)
  const channels = template.channels || ["email", "sms", "push"];
  const testBy = h(
    "select",
    { id: "template-test-channel", name: "channel" },
    channels.includes("email") ? h("option", { value: "email" }, "por e-mail") : null,
    channels.includes("sms") ? h("option", { value: "sms" }, "por SMS") : null,
  );
  const fitTo = () => {
    to.type = testBy.value === "sms" ? "tel" : "email";
    to.autocomplete = testBy.value === "sms" ? "tel" : "email";
  };
  testBy.addEventListener("change", fitTo);
  fitTo();
  const testAnswer = h("p", { class: "answer test-answer", role: "status" });
  const testForm = h(
    "form",
    { id: "template-test-form", class: "row", "aria-label": "Prueba" },
    h("span", { class: "field" }, h("label", { for: testBy.id }, "Enviar la plantilla guardada, con datos de ejemplo,"), testBy),
    h("span", { class: "field" }, h("label", { for: to.id }, "a"), to),
    h("button", { type: "submit" }, "Enviar prueba"),
    testAnswer,
  );
  testForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(testForm);
    testAnswer.textContent = "Enviando…";
    try {
      const test = testBy.value === "sms" ? { channel: "sms", to: to.value.trim() } : { to: to.value.trim() };
      const result = await api("POST", `/templates/${segment(key)}/test`, test);
      testAnswer.textContent = result.ok ? `Enviado (id ${result.message_id}).` : `No se envió: ${result.error}`;
      testAnswer.className = `answer test-answer ${result.ok ? "ok" : "form-error"}`;
    } catch (error) {
      testAnswer.textContent = "";
      showErrors(testForm, error);
    }
  });

  fill(main,
    h("p", {}, h("a", { href: "#/templates" }, "← Plantillas")),
    h("h1", {}, templateTitle(template)),
    summary,
    h(
      "div",
      { class: "grid2" },
      h(
        "div",
        {},
        // ~40 variable buttons come before the fields: the first Tab offers to go past them.
        h(
          "button",
          { type: "button", class: "skip-link", id: "template-skip-variables", onclick: () => inputs.subject.focus() },
          "Saltar las variables: ir a Asunto",
        ),
        h("h2", {}, "Variables"),
        h(
          "p",
          { class: "hint" },
          "Elija un campo y luego una variable para insertarla donde está el cursor: las {{ variables }} en el " +
            "asunto, el HTML y el texto; las %variables% en el SMS y el push.",
        ),
        picker(template.variables, false),
        template.sms_variables.length ? picker(template.sms_variables, true) : null,
        form,
      ),
      h(
        "div",
        {},
        h("h2", {}, "Vista previa"),
        previewState,
        warningsShown,
        h("h3", {}, "Asunto"),
        subjectShown,
        frame,
        h("h3", {}, "Texto plano"),
        textShown,
        h("h3", {}, "SMS"),
        smsShown,
        h("h3", {}, "Push"),
        pushShown,
        testForm,
      ),
    ),
  );
  await preview();
}

async function render(main, ctx) {
  const key = ctx.params.get("key");
  if (key) await editor(main, ctx, key);
  else await list(main, ctx);
}

register({ id: "templates", title: "Plantillas", group: "Configuración", levels: [1], render });
