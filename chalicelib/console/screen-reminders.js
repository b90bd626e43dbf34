// Payment reminders (R1-R3): the concept catalog, a client's reminder settings, what the next daily
// run would send, and running today's reminders now. Any staff reads; changing concepts, a client's
// settings and running now are for administrators (level 1), as the API says.
import { api, day, fill, h, register, segment, toast } from "./app.js";
import { ALL_LEVELS, attempt, empty, field, formValues, input, query, section, select, table, textarea } from "./screen-kit.js";

const TYPES = [
  ["before_due", "Antes del vencimiento"],
  ["after_due", "Después del vencimiento"],
];

// The %variables% a reminder's SMS may use (the API refuses others, naming the field).
const SMS_VARIABLES = "Vacío: se envía el texto en gris. Variables: %nombre%, %comprobante%, %monto% (saldo del comprobante), %vencimiento%, %empresa%, %deuda% (saldo total del cliente)";
// An e-mail's own text replaces the "Recordatorio de pago" template's message, the document's
// number, due date and balance with it: a clerk who wrote only a sentence sent a reminder of no
// document. The default's footer (why the client gets it, the company's postal address) stays.
// Its variables are the template's (Jinja), not the SMS's %variables%.
const EMAIL_VARIABLES =
  "Vacío: se envía la plantilla «Recordatorio de pago» (Plantillas), con el comprobante, su vencimiento y su saldo. " +
  "Un texto propio reemplaza su mensaje (queda el pie: por qué lo recibe el cliente y la dirección postal de la empresa): " +
  "escriba los datos del comprobante con {{ receivable.number }} (número), " +
  "{{ receivable.due_on }} (vencimiento), {{ receivable.balance }} (saldo), {{ receivable.amount }} (importe), " +
  "{{ client.name }} (cliente) y {{ company.name }} (empresa).";

async function render(main, ctx) {
  const admin = ctx.user.level === 1;
  const concepts = h("div", { id: "b-concepts" });
  const settingsBox = h("div", {});
  const planned = h("div", {});
  let catalog = [];

  function conceptForm(concept) {
    const form = h(
      "form",
      {
        class: "b-inline",
        onsubmit: async (e) => {
          e.preventDefault();
          const values = formValues(form);
          const body = { description: values.description || "", days: Number(values.days), type: values.type };
          const path = concept ? `/reminders/concepts/${segment(concept.concept_id)}` : "/reminders/concepts";
          // an edit is saved only if no one else saved the concept since the list was loaded; a
          // refusal of that is said in the form, the text typed left there
          const edit = concept ? { ifMatch: concept.etag } : {};
          if (await attempt(() => api(concept ? "PUT" : "POST", path, body, edit), concept ? form : undefined)) {
            toast("Concepto guardado");
            loadConcepts();
          }
        },
      },
      // each field named by its column's heading (what the eye reads above it), and by the row's
      // concept: «Días: Recordatorio 7 días antes del vencimiento», «Días: concepto nuevo»
      input("description", { id: null, required: "", value: concept ? concept.description : "", "aria-label": columnName("Descripción", concept) }),
      input("days", { id: null, type: "number", min: "0", required: "", value: concept ? String(concept.days) : "7", "aria-label": columnName("Días", concept) }),
      select("type", TYPES, concept ? concept.type : "before_due", { id: null, "aria-label": columnName("Tipo", concept) }),
      h("button", { type: "submit" }, concept ? "Guardar" : "Agregar concepto"),
    );
    return form;
  }

  const columnName = (column, concept) => `${column}: ${concept ? concept.description : "concepto nuevo"}`;

  async function loadConcepts() {
    const answer = await attempt(() => api("GET", "/reminders/concepts"));
    if (!answer) return;
    catalog = answer.items;
    fill(concepts,
      admin
        ? // a grid whose columns have visible headings; each row is a form (drawn as its fields)
          h("div", { class: "b-concept-grid", id: "b-concept-rows" },
            ["Descripción", "Días", "Tipo", ""].map((heading) => h("span", { class: "b-concept-heading", "aria-hidden": "true" }, heading)),
            catalog.map((c) => conceptForm(c)),
            conceptForm(null),
          )
        : table(
            [
              ["Concepto", (c) => c.description],
              ["Días", (c) => String(c.days)],
              ["Tipo", (c) => (c.type === "before_due" ? "Antes del vencimiento" : "Después del vencimiento")],
            ],
            catalog,
          ),
    );
  }

  // The client whose settings are open, in the address: a reload, or the sign-in after a session
  // that ended, opens them again, and with them what was typed in their form (app.js's drafts).
  function remember(clientId) {
    const hash = `#/reminders${query({ client: clientId })}`;
    if (main.isConnected && location.hash !== hash) history.replaceState(null, "", hash); // not once left
  }

  async function loadClient(clientId) {
    const current = await attempt(() => api("GET", `/clients/${segment(clientId)}/reminders`));
    if (!current) return;
    remember(clientId);
    // the Cliente box names whose settings are shown (opened from a client's link, or a reload)
    clientForm.elements.reminder_client.value = clientId;
    const options = (type) => [["", "(el primero del catálogo)"], ...catalog.filter((c) => c.type === type).map((c) => [c.concept_id, c.description])];
    const check = (name, label) => h("label", { class: "b-check" }, h("input", { type: "checkbox", name, value: "true", ...(current[name] ? { checked: "" } : {}) }), ` ${label}`);
    const form = h(
      "form",
      {
        class: "b-form",
        id: "b-client-reminders",
        onsubmit: async (e) => {
          e.preventDefault();
          const values = formValues(form);
          const body = {
            active: values.active === "true",
            send_to_contacts: values.send_to_contacts === "true",
            after_due: values.after_due === "true",
            subject: values.subject || null,
            before_due_concept: values.before_due_concept || null,
            after_due_concept: values.after_due_concept || null,
            reminder_body: values.reminder_body || null,
            after_due_body: values.after_due_body || null,
            sms: values.sms === "true",
            reminder_sms: values.reminder_sms || null, // empty: the default shown in the box
            after_due_sms: values.after_due_sms || null,
          };
          // saved only if no one else saved this client's settings since they were loaded (or last saved here)
          const path = `/clients/${segment(clientId)}/reminders`;
          const answer = await attempt(() => api("PUT", path, body, { ifMatch: current.etag }), form);
          if (answer) {
            current.etag = answer.etag;
            toast("Guardado");
          }
        },
      },
      h("h3", {}, `Cliente ${clientId}`),
      check("active", "Recordatorios activos"),
      check("send_to_contacts", "Enviar también a los contactos elegidos"),
      field("Asunto", input("subject", { value: current.subject || "" })),
      field("Concepto antes del vencimiento", select("before_due_concept", options("before_due"), current.before_due_concept || "")),
      check("after_due", "Enviar aviso de vencido"),
      field("Concepto después del vencimiento", select("after_due_concept", options("after_due"), current.after_due_concept || "")),
      field("Texto del recordatorio", textarea("reminder_body", { rows: "5" }), EMAIL_VARIABLES),
      field("Texto del aviso de vencido", textarea("after_due_body", { rows: "5" }), EMAIL_VARIABLES),
      check("sms", "Enviar también por SMS (al celular del cliente, con el servicio de SMS encendido)"),
      field("SMS del recordatorio", textarea("reminder_sms", { rows: "3", placeholder: current.reminder_sms_default || "" }), SMS_VARIABLES),
      field("SMS del aviso de vencido", textarea("after_due_sms", { rows: "3", placeholder: current.after_due_sms_default || "" }), SMS_VARIABLES),
      admin ? h("button", { type: "submit" }, "Guardar") : h("small", {}, "Sólo un administrador cambia estos datos."),
    );
    form.elements.reminder_body.value = current.reminder_body || "";
    form.elements.after_due_body.value = current.after_due_body || "";
    form.elements.reminder_sms.value = current.reminder_sms || ""; // as a value, never as markup
    form.elements.after_due_sms.value = current.after_due_sms || "";
    if (!admin) for (const el of form.elements) el.disabled = true;
    fill(settingsBox, form);
  }

  function showRun(answer, title) {
    fill(planned,
      h("h3", {}, title),
      h("p", { class: "b-run-counts" }, `Día ${day(answer.day)} · documentos ${answer.receivables} · recordatorios ${answer.reminders} · en cola ${answer.queued} · omitidos ${answer.skipped} · fallidos ${answer.failed}`),
      answer.items.length
        ? table(
            [
              ["Cliente", (p) => p.client_id],
              ["Documento", (p) => p.document_number],
              // the concept by its description, as the catalog above names it (its id is random)
              ["Concepto", (p) => (catalog.find((c) => c.concept_id === p.concept_id) || {}).description || p.concept_id],
              ["Para", (p) => (p.to || []).join(", ")],
              ["Desde", (p) => p.from_address],
              ["Omitido", (p) => p.skipped], // in Spanish from the API (Accept-Language: es)
              ["SMS", (p) => p.sms_to || (p.sms_skipped ? `sin SMS: ${p.sms_skipped}` : "")],
            ],
            answer.items,
          )
        : empty("Nada para enviar."),
    );
  }

  const clientForm = h(
    "form",
    {
      class: "b-inline",
      onsubmit: (e) => {
        e.preventDefault();
        const id = clientForm.elements.reminder_client.value.trim();
        if (id) loadClient(id);
      },
    },
    field("Cliente", input("reminder_client", { required: "" })),
    h("button", { type: "submit" }, "Ver su configuración"),
  );

  fill(main,
    h("h1", {}, "Recordatorios de pago"),
    section("Conceptos", concepts),
    section("Configuración de un cliente", clientForm, settingsBox),
    section(
      "Próxima corrida",
      h("div", { class: "b-actions" },
        h("button", { type: "button", onclick: async () => { const a = await attempt(() => api("GET", "/reminders/preview")); if (a) showRun(a, "Lo que enviaría hoy"); } }, "Ver qué se enviaría"),
        admin
          ? h("button", { type: "button", onclick: async () => { if (!confirm("¿Enviar los recordatorios de hoy ahora?")) return; const a = await attempt(() => api("POST", "/reminders/run")); if (a) showRun(a, "Enviado ahora"); } }, "Enviar los de hoy ahora")
          : null,
      ),
      planned,
    ),
  );
  await loadConcepts();
  if (ctx.params.get("client")) await loadClient(ctx.params.get("client")); // drawn with the screen
}

register({ id: "reminders", title: "Recordatorios", group: "Trabajo", levels: ALL_LEVELS, render });
