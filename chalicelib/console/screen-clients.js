// Clients and their register (H2, I3): the client list, a client's register with its filters and
// Excel file, manual records with attachments, a record's detail view, and a reply to a received
// e-mail from that view (POST .../reply: through the outbox, threaded, a new record). From the view
// too, seed 004's "Enviar un mensaje" (tell colleagues by e-mail, POST .../notify) and "Crear tarea"
// (the record as a calendar task, GET .../task.ics).
import { api, download, extend, fill, h, register, segment, toast } from "./app.js";
import {
  ALL_LEVELS,
  attempt,
  autoSubmittedNote,
  clientPage,
  companyFormat,
  dateField,
  empty,
  field,
  flaggedNote,
  follow,
  mailMark,
  messageName,
  fileBase64,
  fileSize,
  formValues,
  OMITTED,
  input,
  label,
  messageFrame,
  query,
  reveal,
  saveExport,
  section,
  select,
  table,
  textarea,
  when,
  downloadExcel,
} from "./screen-kit.js";

const RECORD_TYPES = [
  ["call", "Llamada"],
  ["visit", "Visita"],
  ["email", "E-mail"],
  ["meeting", "Reunión"],
  ["other", "Otro"],
];
// A table's options with a record's code kept even when the table no longer has it (deleted: the
// records keep its code), so saving the other fields does not clear it unasked.
function withCurrent(options, code) {
  return !code || options.some(([value]) => value === code) ? options : [...options, [code, code]];
}

// A motive's or an area's name as the company's table calls it (seed 004: the register shows the
// table's names); a code the table no longer has shows as written.
function tableName(options, code) {
  if (!code) return code;
  const found = options.find(([value]) => value === code);
  return found ? found[1] : code;
}

// A message's sender or recipient as a mail program shows them: "Marta Ruiz <marta@ejemplo.es>"
// (the address alone when the message named no one).
function party(name, address) {
  if (!address) return name || null;
  return name ? `${name} <${address}>` : address;
}

const REGISTER_FILTERS = ["from", "to", "type", "motive", "area", "direction", "q"];

// The client's card (seeds 000-003's "carátula"): its e-mails and phones, which messages it gets,
// its preferred and collection agents, and its contacts with the two ticks the seeds name: "Desea
// enviarse información de carga" (every shipment issued for the client followed for the contact,
// T6.1) and the payment notices' contacts (R2). Saved with PUT /clients/{id}, which replaces the
// client: what the card does not show (balance, classification) is sent back as it was read, so the
// save carries the ETag the card was read with: if the company's system (or another clerk) wrote the
// client since (a new balance), it is refused (412) and the clerk offered to load the client again.
const SWITCHES = [
  ["tracking", "Alertas de seguimiento de sus cargas"],
  ["invoice", "Facturas por e-mail"],
  ["payment_email", "Comprobante de pago por e-mail"],
  ["payment_sms", "SMS de pago"],
  ["ticket", "Avisos de sus tickets"],
  ["reminder", "Recordatorios y avisos de cobro"],
  ["statement", "Estados de cuenta"],
];
const lines = (text) => (text || "").split("\n").map((s) => s.trim()).filter(Boolean);
const newContactId = () => `c-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

function check(name, text, checked) {
  return h("label", { class: "b-check" }, h("input", { type: "checkbox", name, checked: !!checked }), ` ${text}`);
}

function contactFields(n, c, legend) {
  const f = (key, text, value, attrs = {}) =>
    field(text, h("input", { name: `contacts[${n}].${key}`, id: `b-card-contact-${n}-${key}`, value: value || "", ...attrs }));
  return h(
    "fieldset",
    { class: "b-card-contact", "data-contact": c ? c.contact_id : "" },
    h("legend", {}, legend),
    f("first_name", "Nombre", c && c.first_name, { maxlength: "80" }),
    f("last_name", "Apellido", c && c.last_name, { maxlength: "80" }),
    f("email", "E-mail", c && c.email, { type: "email" }),
    f("phone", "Teléfono", c && c.phone),
    check(`contacts[${n}].wants_cargo_info`, "Desea recibir información de carga (seguimiento de cada envío del cliente)", c && c.wants_cargo_info),
    check(`contacts[${n}].receives_reminders`, "Recibe los avisos de cobro del cliente", c && c.receives_reminders),
    c ? check(`contacts[${n}].remove`, "Quitar este contacto", false) : null,
  );
}

function clientCard(client, base, agents, saved) {
  const contacts = client.contacts || [];
  const agentChoice = (name, text) =>
    field(text, select(name, withCurrent([["", "(ninguno)"], ...agents], client[name] || ""), client[name] || "", { id: `b-card-${name}` }));
  const form = h(
    "form",
    {
      class: "b-form",
      id: "b-client-card",
      "data-edited-meanwhile":
        "No se guardó: los datos del cliente cambiaron después de que usted abrió esta pantalla (otra persona " +
        "o el sistema de la empresa; no se sabe quién). Lo que usted cambió sigue abajo, sin guardar; vuelva " +
        "a cargar el cliente para ver sus datos actuales y haga sus cambios de nuevo.",
      onsubmit: async (e) => {
        e.preventDefault();
        const data = new FormData(form);
        const sent = []; // the contacts sent, by their number on the form (an error names the one sent)
        contacts.forEach((c, n) => {
          if (!data.get(`contacts[${n}].remove`)) sent.push([n, c.contact_id]);
        });
        const extra = contacts.length;
        if (["first_name", "last_name", "email", "phone"].some((k) => String(data.get(`contacts[${extra}].${k}`) || "").trim()))
          sent.push([extra, newContactId()]);
        const text = (key) => String(data.get(key) || "").trim();
        const body = {
          name: text("name"),
          emails: lines(text("emails")),
          phones: lines(text("phones")),
          message_switches: Object.fromEntries(SWITCHES.map(([key]) => [key, data.get(`switch.${key}`) !== null])),
          preferred_agent: text("preferred_agent") || null,
          collection_agent: text("collection_agent") || null,
          balance: client.balance ?? null,
          classification: client.classification || {},
          contacts: sent.map(([n, id]) => ({
            contact_id: id,
            first_name: text(`contacts[${n}].first_name`),
            last_name: text(`contacts[${n}].last_name`),
            email: text(`contacts[${n}].email`) || null,
            phone: text(`contacts[${n}].phone`) || null,
            wants_cargo_info: data.get(`contacts[${n}].wants_cargo_info`) !== null,
            receives_reminders: data.get(`contacts[${n}].receives_reminders`) !== null,
          })),
        };
        // the API names a line of a list (emails[1]) and a contact by its place in what was sent:
        // each is shown at its own box on the form
        const placed = (err) => {
          const fields = {};
          for (const [key, message] of Object.entries(err.fields || {})) {
            const listed = /^(emails|phones)\[(\d+)\]$/.exec(key);
            const contact = /^contacts\[(\d+)\]\.(\w+)$/.exec(key);
            if (listed) fields[listed[1]] = `línea ${Number(listed[2]) + 1}: ${message}`;
            else if (contact && sent[Number(contact[1])]) fields[`contacts[${sent[Number(contact[1])][0]}].${contact[2]}`] = message;
            else fields[key] = message;
          }
          err.fields = fields;
          throw err;
        };
        const answer = await attempt(() => api("PUT", base, body, { ifMatch: client.etag }).catch(placed), form);
        if (answer) saved(answer);
      },
    },
    field("Nombre", h("input", { name: "name", id: "b-card-name", value: client.name, required: true, maxlength: "80" })),
    field("E-mails", h("textarea", { name: "emails", id: "b-card-emails", rows: "2" }, (client.emails || []).join("\n")), "uno por línea; los mensajes van al primero"),
    field("Teléfonos", h("textarea", { name: "phones", id: "b-card-phones", rows: "2" }, (client.phones || []).join("\n")), "uno por línea, como se escriben (0351 15 123-4567)"),
    h("fieldset", {}, h("legend", {}, "Qué mensajes recibe"), ...SWITCHES.map(([key, text]) => check(`switch.${key}`, text, (client.message_switches || {})[key] !== false))),
    agentChoice("preferred_agent", "Agente preferido"),
    agentChoice("collection_agent", "Agente de cobranza (envía los avisos de cobro)"),
    h("h3", {}, "Contactos"),
    contacts.length ? null : h("p", { class: "b-muted" }, "El cliente no tiene contactos."),
    ...contacts.map((c, n) => contactFields(n, c, `${c.first_name} ${c.last_name}`)),
    contactFields(contacts.length, null, "Agregar un contacto"),
    h("button", { type: "submit" }, "Guardar los datos del cliente"),
  );
  return form;
}

// "Alta de cliente": a clerk adds a client by its code, with what its card shows (and its
// classification, which bulk statements filter by). Saved with PUT /clients/{id} and
// If-None-Match: *, which only creates: a code in use is refused (412) with nothing written, said
// beside the code, instead of replacing the client unseen. The new client's page then opens.
function newClientForm(ctx) {
  const form = h(
    "form",
    {
      class: "b-form",
      id: "b-new-client",
      onsubmit: async (e) => {
        e.preventDefault();
        const data = new FormData(form);
        const text = (key) => String(data.get(key) || "").trim();
        const code = text("client_id");
        const classification = {};
        for (const line of lines(text("classification"))) {
          const [key, ...value] = line.split("=");
          classification[key.trim()] = value.join("=").trim();
        }
        const contact = ["first_name", "last_name", "email", "phone"].some((k) => text(`contacts[0].${k}`));
        const body = {
          name: text("name"),
          emails: lines(text("emails")),
          phones: lines(text("phones")),
          message_switches: Object.fromEntries(SWITCHES.map(([key]) => [key, data.get(`switch.${key}`) !== null])),
          classification,
          contacts: contact
            ? [
                {
                  contact_id: newContactId(),
                  first_name: text("contacts[0].first_name"),
                  last_name: text("contacts[0].last_name"),
                  email: text("contacts[0].email") || null,
                  phone: text("contacts[0].phone") || null,
                  wants_cargo_info: data.get("contacts[0].wants_cargo_info") !== null,
                  receives_reminders: data.get("contacts[0].receives_reminders") !== null,
                },
              ]
            : [],
        };
        // each refusal beside its box: a line of a list by its number, a classification by its
        // field, and a code in use (412, the API's words) beside the code
        const placed = (err) => {
          const fields = {};
          for (const [key, message] of Object.entries(err.fields || {})) {
            const listed = /^(emails|phones)\[(\d+)\]$/.exec(key);
            if (listed) fields[listed[1]] = `línea ${Number(listed[2]) + 1}: ${message}`;
            else if (/^classification\b/.test(key)) fields.classification = `${key.slice(15) || "clasificación"}: ${message}`;
            else fields[key] = message;
          }
          if (err.status === 412) {
            err.status = 409; // shown beside the code, not as "someone else saved it meanwhile"
            err.fields = { client_id: err.message };
          } else err.fields = fields;
          throw err;
        };
        const saved = await attempt(
          () => api("PUT", `/clients/${segment(code)}`, body, { ifNoneMatch: "*" }).catch(placed),
          form,
        );
        if (!saved) return;
        toast(`Cliente dado de alta: ${saved.name} (${saved.client_id})`);
        ctx.navigate("clients", { client: saved.client_id, card: "1" });
      },
    },
    field("Código", h("input", { name: "client_id", id: "b-new-client-id", required: true, maxlength: "64" }), "letras, dígitos, «_», «.» o «-»; el mismo que en el sistema de la empresa"),
    field("Nombre", h("input", { name: "name", id: "b-new-client-name", required: true, maxlength: "80" })),
    field("E-mails", h("textarea", { name: "emails", id: "b-new-client-emails", rows: "2" }), "uno por línea; los mensajes van al primero"),
    field("Teléfonos", h("textarea", { name: "phones", id: "b-new-client-phones", rows: "2" }), "uno por línea, como se escriben (0351 15 123-4567)"),
    field("Clasificación", h("textarea", { name: "classification", id: "b-new-client-classification", rows: "2" }), "campo=valor, uno por línea (zona=norte)"),
    h("fieldset", {}, h("legend", {}, "Qué mensajes recibe"), ...SWITCHES.map(([key, text]) => check(`switch.${key}`, text, true))),
    contactFields(0, null, "Un contacto (opcional)"),
    h("button", { type: "submit" }, "Dar de alta el cliente"),
  );
  return form;
}

async function lookups() {
  const [motives, areas] = await Promise.all([
    attempt(() => api("GET", "/register/motives")),
    attempt(() => api("GET", "/register/areas")),
  ]);
  const options = (answer) => [["", "(ninguno)"], ...((answer && answer.items) || []).map((e) => [e.code, e.name])];
  return { motives: options(motives), areas: options(areas) };
}

// The register's motives and areas (seed 004: "una tabla donde puedes dar de alta, modificar y
// eliminar las áreas"): administrators add one, rename one by its code, or delete one (the records
// keep its code). Other levels read them in the register's lists.
// Each with what an empty one says, in the gender of its word (áreas and categorías: "ninguna").
const REGISTER_TABLES = [
  ["motives", "Motivos", "Ninguno todavía."],
  ["areas", "Áreas", "Ninguna todavía."],
  // seed 004's a3doc categories: what a published document is filed under in the client's portal
  ["categories", "Categorías del portal de documentos", "Ninguna todavía."],
];

function registerTables() {
  const box = h("div", { id: "b-register-tables" });
  async function draw() {
    const answers = await Promise.all(REGISTER_TABLES.map(([table]) => attempt(() => api("GET", `/register/${segment(table)}`))));
    fill(box, ...REGISTER_TABLES.map(([table, title, none], i) => tableEditor(table, title, none, (answers[i] && answers[i].items) || [])));
  }
  function tableEditor(table, title, none, entries) {
    const rename = (entry) => {
      const form = h(
        "form",
        {
          class: "b-inline",
          "data-code": entry.code,
          onsubmit: async (e) => {
            e.preventDefault();
            const body = { name: form.elements.name.value.trim() };
            // saved only if no one else renamed it (or deleted it and added the code again) since it was listed
            const edit = { ifMatch: entry.etag };
            if (await attempt(() => api("PUT", `/register/${segment(table)}/${segment(entry.code)}`, body, edit), form)) {
              toast(`Guardado: ${body.name}`);
              draw();
            }
          },
        },
        h("code", {}, entry.code),
        input("name", { id: null, required: "", maxlength: "120", value: entry.name, "aria-label": `Nombre de ${entry.code}` }),
        h("button", { type: "submit" }, "Guardar"),
        h(
          "button",
          {
            type: "button",
            class: "b-danger",
            "aria-label": `Eliminar ${entry.name}`,
            onclick: async () => {
              if (!confirm(`¿Eliminar «${entry.name}»? Los registros conservan su código.`)) return;
              if ((await attempt(() => api("DELETE", `/register/${segment(table)}/${segment(entry.code)}`))) !== undefined) draw();
            },
          },
          "Eliminar",
        ),
      );
      return form;
    };
    const add = h(
      "form",
      {
        class: "b-inline",
        "data-add": table,
        onsubmit: async (e) => {
          e.preventDefault();
          const body = { code: add.elements.code.value.trim(), name: add.elements.name.value.trim() };
          if (await attempt(() => api("POST", `/register/${segment(table)}`, body), add)) {
            toast(`Agregado: ${body.name}`);
            draw();
          }
        },
      },
      field("Código", input("code", { id: `b-${table}-new-code`, required: "", maxlength: "64" })),
      field("Nombre", input("name", { id: `b-${table}-new-name`, required: "", maxlength: "120" })),
      h("button", { type: "submit" }, "Agregar"),
    );
    return h(
      "div",
      { "data-table": table },
      h("h3", {}, title),
      entries.length ? h("ul", { class: "b-plain" }, entries.map((entry) => h("li", {}, rename(entry)))) : empty(none),
      add,
    );
  }
  draw();
  return box;
}

// How long the search waits after the last key before asking (Enter asks at once).
const SEARCH_DEBOUNCE_MS = 250;

async function clientList(main, ctx) {
  const list = h("div", {});
  const status = h("p", { class: "b-muted", id: "b-client-search-status", role: "status", "aria-live": "polite" });
  const go = input("client_id", { placeholder: "Código de cliente", required: "" });
  const q = input("q", {
    id: "b-client-q",
    type: "search",
    autocomplete: "off",
    maxlength: "100",
    placeholder: "ferre, FG-001, compras@…, 011 4555-1234",
    "aria-describedby": "b-client-search-status",
  });
  let asked = 0; // answers to an older search than the last one are dropped
  let timer = null;
  async function load(cursor, searched = "") {
    const mine = ++asked;
    const searchForm = q.form;
    const page = await attempt(
      () => (searched ? api("GET", `/clients${query({ q: searched, limit: 50, cursor })}`) : clientPage(cursor)),
      searched ? searchForm : undefined,
    );
    if (mine !== asked) return;
    if (!cursor) list.replaceChildren();
    if (!page) return;
    list.querySelector(".b-more")?.remove();
    if (searched && !cursor)
      status.textContent = page.items.length
        ? `Clientes que coinciden con «${searched}»${page.next_cursor ? " (hay más)" : ""}.`
        : `Ningún cliente coincide con «${searched}».`;
    if (!searched) status.textContent = "";
    extend(list,
      page.items.length
        ? table(
            [
              ["Código", (c) => h("a", { href: `#/clients?client=${encodeURIComponent(c.client_id)}` }, c.client_id)],
              ["Nombre", (c) => c.name],
              ["E-mails", (c) => (c.emails || []).join(", ")],
              ["Teléfonos", (c) => (c.phones || []).join(", ")],
            ],
            page.items,
          )
        : searched
          ? null
          : empty("Todavía no hay clientes."),
    );
    if (page.next_cursor)
      extend(list, h("button", { type: "button", class: "b-more", onclick: () => load(page.next_cursor, searched) }, "Más"));
  }
  // Results as the clerk types (2 letters or digits at least), or at once on Enter.
  function search(now) {
    clearTimeout(timer);
    const text = q.value.trim();
    if (!now && text && !/[\p{L}\p{N}]{2}/u.test(text) && !text.includes("@")) return;
    timer = setTimeout(() => load(undefined, text), now ? 0 : SEARCH_DEBOUNCE_MS);
  }
  q.addEventListener("input", () => search(false));
  fill(main,
    h("h1", {}, "Clientes"),
    h(
      "form",
      {
        class: "b-inline",
        role: "search",
        id: "b-client-search",
        onsubmit: (e) => {
          e.preventDefault();
          search(true);
        },
      },
      field("Buscar un cliente", q, "Parte del nombre, el código, un e-mail o un teléfono."),
      h("button", { type: "submit" }, "Buscar"),
    ),
    h(
      "form",
      {
        class: "b-inline",
        onsubmit: (e) => {
          e.preventDefault();
          ctx.navigate("clients", { client: go.value.trim() });
        },
      },
      field("Abrir un cliente", go),
      h("button", { type: "submit" }, "Abrir"),
    ),
    status,
    list,
    section("Alta de cliente", newClientForm(ctx)),
    ctx.user.level === 1 ? section("Motivos, áreas y categorías del registro", registerTables()) : null,
  );
  await load();
}

// Seed 004's "Enviar un mensaje": pick colleagues by name and department (the directory's active users
// with an address; a level-4 user gets each as an opaque handle, never their login), add a comment,
// send; the record then shows who was told.
function notifyForm(path, colleagues, onSent) {
  const boxes = colleagues.map((u) =>
    h(
      "label",
      { class: "b-check" },
      h("input", { type: "checkbox", name: "users", value: u.user_id, id: `b-notify-${u.user_id.replace(/\W/g, "-")}` }),
      ` ${u.name || u.user_id}${u.department ? ` (${u.department})` : ""}`,
    ),
  );
  const comment = textarea("comment", { id: "b-notify-comment", maxlength: "2000", rows: "3" });
  const form = h(
    "form",
    {
      class: "b-form",
      id: "b-notify",
      onsubmit: async (e) => {
        e.preventDefault();
        const users = boxes.map((b) => b.querySelector("input")).filter((i) => i.checked).map((i) => i.value);
        const body = { users };
        if (comment.value.trim()) body.comment = comment.value.trim();
        const sent = await attempt(() => api("POST", `${path}/notify`, body), form);
        if (sent) {
          const names = sent.users.map((id) => (colleagues.find((u) => u.user_id === id) || {}).name || id);
          toast(`Aviso enviado a ${names.join(", ")}`);
          onSent();
        }
      },
    },
    h("h4", {}, "Enviar un mensaje"),
    h(
      "fieldset",
      { class: "b-checks", name: "users" },
      h("legend", {}, "Avisar a"),
      ...(boxes.length ? boxes : [h("p", { class: "b-muted" }, "Nadie del personal tiene una dirección de e-mail en el directorio.")]),
    ),
    field("Comentario (opcional)", comment),
    h("button", { type: "submit" }, "Enviar mensaje"),
  );
  return form;
}

// A reply is filed under the motive and area of the mail it answers (seed 004: one more record
// of the same matter), chosen in the form, which the clerk may change before sending.
function replyForm(clientId, record, tables, onSent) {
  const text = textarea("reply_text", { rows: "6", required: "" });
  const subject = input("reply_subject", { placeholder: `Re: ${record.subject || ""}` });
  const motive = select("reply_motive", withCurrent(tables.motives, record.motive), record.motive || "", { id: "b-reply-motive" });
  const area = select("reply_area", withCurrent(tables.areas, record.area), record.area || "", { id: "b-reply-area" });
  return h(
    "form",
    {
      class: "b-form",
      id: "b-reply",
      onsubmit: async (e) => {
        e.preventDefault();
        const body = { text: text.value };
        if (subject.value.trim()) body.subject = subject.value.trim();
        // sent only when changed: the API files the reply under the answered record's otherwise
        // (a code its table no longer has stays so, not refused)
        if (motive.value !== (record.motive || "")) body.motive = motive.value || null;
        if (area.value !== (record.area || "")) body.area = area.value || null;
        const sent = await attempt(() =>
          api("POST", `/clients/${segment(clientId)}/register/${segment(record.communication_id)}/reply`, body),
        );
        if (sent) {
          toast("Respuesta enviada");
          onSent();
        }
      },
    },
    h("h4", {}, "Responder"),
    field("Asunto", subject),
    field("Texto", text),
    // named apart from the edit form's above (the record's own motive and area)
    field("Motivo de la respuesta", motive),
    field("Área de la respuesta", area),
    h("button", { type: "submit" }, "Enviar respuesta"),
  );
}

async function clientRegister(main, ctx, clientId) {
  await companyFormat();
  let base = null; // built inside attempt(): a code segment() refuses ("..") is a client not found
  const client = await attempt(() => api("GET", (base = `/clients/${segment(clientId)}`)));
  if (!client) {
    // an old link or a mistyped code: say so, with the way back to the list (and its search)
    fill(main,
      h("p", {}, h("a", { href: "#/clients", id: "b-clients-back" }, "← Clientes")),
      h("h1", {}, "Clientes"),
      empty(`No hay un cliente ${clientId}. Búsquelo por su nombre, e-mail o teléfono en Clientes.`),
    );
    return;
  }
  let colleagues = null; // the directory's users who can be told of a record, read once
  const nameOf = (id) => ((colleagues || []).find((u) => u.user_id === id) || {}).name || id;
  async function readColleagues() {
    if (colleagues === null) colleagues = ((await attempt(() => api("GET", "/staff/colleagues"))) || {}).items || [];
  }
  const tables = await lookups();
  await readColleagues();
  // the agents: the directory's active users by user id, those without an e-mail too (as Agentes
  // preferidos offers them: an agent gets no e-mail as such); a level-4 user is shown handles,
  // which are no agent's id: none offered
  const people = ((await attempt(() => api("GET", "/staff/colleagues?without_email=true"))) || {}).items || [];
  const agents = people.filter((u) => u.user_id && u.user_id !== u.handle).map((u) => [u.user_id, `${u.name || u.user_id} (${u.user_id})`]);
  const heading = h("h1", {}, `${client.name} (${client.client_id})`);
  const summary = h("p", { class: "b-muted", id: "b-client-summary" }, [...(client.emails || []), ...(client.phones || [])].join(" · "));
  const cardBox = h("div", {});
  const showCard = (shown) => fill(cardBox, clientCard(shown, base, agents, (saved) => {
    toast("Datos del cliente guardados");
    heading.textContent = `${saved.name} (${saved.client_id})`;
    summary.textContent = [...(saved.emails || []), ...(saved.phones || [])].join(" · ");
    showCard(saved);
  }));
  showCard(client);
  const detail = h("div", { class: "b-detail-box" });
  const records = h("div", {});
  const filters = h(
    "form",
    {
      class: "b-form b-filters",
      id: "b-register-filters",
      onsubmit: (e) => {
        e.preventDefault();
        load();
      },
    },
    dateField("Desde", "from"),
    dateField("Hasta", "to"),
    field("Tipo", select("type", [["", "(todos)"], ...RECORD_TYPES, ["sms", "SMS"], ["push", "Push"]])),
    // no motive or area picked filters nothing: "(todos)", not the form's "(ninguno)"
    field("Motivo", select("motive", [["", "(todos)"], ...tables.motives.slice(1)])),
    field("Área", select("area", [["", "(todas)"], ...tables.areas.slice(1)])),
    field(
      "Dirección",
      select("direction", [
        ["", "(todas)"],
        ["out", "Enviados"],
        ["in", "Recibidos"],
        ["note", "Registros manuales"],
      ]),
    ),
    field("Buscar", input("q", { type: "search" })),
    h("button", { type: "submit" }, "Filtrar"),
  );
  const criteria = () => {
    const values = formValues(filters);
    const picked = {};
    for (const k of REGISTER_FILTERS) if (values[k]) picked[k] = values[k];
    return picked;
  };
  const registerExporting = h("div", { id: "b-register-exporting", role: "status", "aria-live": "polite" });

  async function load(cursor) {
    const page = await attempt(() => api("GET", `${base}/register${query({ ...criteria(), limit: 50, cursor })}`));
    if (!page) return;
    await readColleagues();
    if (!cursor) fill(records);
    records.querySelector(".b-more")?.remove();
    extend(records,
      page.items.length
        ? table(
            [
              ["Fecha", (r) => when(r.created_at)],
              ["Tipo", (r) => label(r.record_type)],
              ["Dirección", (r) => label(r.direction)],
              ["Asunto", (r) => (r.auto_submitted ? [mailMark(r), " ", messageName(r)] : messageName(r))],
              ["Motivo", (r) => tableName(tables.motives, r.motive)],
              ["Área", (r) => tableName(tables.areas, r.area)],
              ["Iniciada por", (r) => label(r.initiated_by)], // seed 004's "Iniciada por": the client or us
              ["Por", (r) => r.created_by_name || r.created_by], // by name, not the user's id (a Cognito sub is a UUID)
              ["", (r) => h("button", { type: "button", class: "b-view", "aria-label": `Ver «${messageName(r)}» del ${when(r.created_at)}`, onclick: () => view(r.communication_id) }, "Ver")],
            ],
            page.items,
            { class: "b-table b-register" },
          )
        : page.next_cursor // a page reads a bounded part of the register: more may match further back
          ? empty("Nada en esta parte del registro; «Más» sigue buscando en los anteriores.")
          : empty("Nada en el registro con estos filtros."),
    );
    if (page.next_cursor)
      extend(records, h("button", { type: "button", class: "b-more", onclick: () => load(page.next_cursor) }, "Más"));
  }

  // What the API says went wrong with a record, in Spanish where the console knows the words.
  function notice(error) {
    const large = /^the message is ([\d.]+) MB, over the (\d+) MB Pregón keeps/.exec(error || "");
    if (large) {
      const size = Number(large[1]).toLocaleString("es", { maximumFractionDigits: 1 });
      return `El mensaje ocupa ${size} MB, más de los ${large[2]} MB que Pregón guarda: solo se registraron sus encabezados; sigue en el buzón.`;
    }
    return error;
  }

  // The open record in the address (as the tickets and the history do): a reload, or the sign-in
  // after a session that ended, opens it again, and with it a reply typed there (app.js's drafts).
  function remember(recordId) {
    const hash = `#/clients${query({ client: clientId, record: recordId })}`;
    if (main.isConnected && location.hash !== hash) history.replaceState(null, "", hash); // not once left
  }


  async function view(recordId) {
    const record = await attempt(() => api("GET", `${base}/register/${segment(recordId)}`));
    if (!record) return;
    await readColleagues();
    const recordPath = `${base}/register/${segment(record.communication_id)}`;
    remember(record.communication_id);
    const upload = h("input", { type: "file", name: "attachment", id: "b-attach-file" });
    fill(detail,
      h(
        "article",
        { class: "b-detail", "data-id": record.communication_id },
        h("h3", {}, messageName(record)),
        h(
          "dl",
          {},
          [
            ["Fecha", when(record.created_at)],
            ["Tipo", label(record.record_type)],
            ["Iniciado por", label(record.initiated_by)],
            ["De", party(record.from_name, record.from_address)],
            ["Para", party(record.to_name, record.to_address)],
            ["Motivo", tableName(tables.motives, record.motive)],
            ["Área", tableName(tables.areas, record.area)],
            ["Creado por", record.created_by_name || record.created_by],
            ["Estado", label(record.state)],
            ["Aviso", notice(record.error)],
            ["Marcado", flaggedNote(record)],
            ["Automático", autoSubmittedNote(record)],
            ...(record.notices || []).map((n) => [
              "Avisado",
              `${when(n.at)}: ${n.users.map((u, i) => (n.user_names || [])[i] || nameOf(u)).join(", ")} (por ${n.by_name || nameOf(n.by)})`,
            ]),
          ]
            .filter(([, v]) => v)
            .flatMap(([k, v]) => [h("dt", {}, k), h("dd", { class: k === "Avisado" ? "b-notice" : null }, v)]),
        ),
        h(
          "button",
          {
            type: "button",
            id: "b-record-task",
            onclick: () =>
              attempt(() => download(`${recordPath}/task.ics`, `tarea-${record.communication_id}.ics`, "text/calendar")),
          },
          "Crear tarea",
        ),
        notifyForm(recordPath, colleagues, () => view(record.communication_id)),
        messageFrame(record.html, undefined, { received: record.direction === "in" }),
        record.text ? h("pre", { class: "b-text" }, record.text) : null,
        attachmentTable(record),
        // files are added to records written by hand and to mail logged from a staff mailbox (H2)
        record.automatic && record.channel !== "mailbox"
          ? null
          : h(
              "form",
              {
                class: "b-inline",
                onsubmit: async (e) => {
                  e.preventDefault();
                  if (await attach(record.communication_id, upload.files[0])) view(recordId);
                },
              },
              field("Adjuntar un archivo (hasta 5 MiB)", upload),
              h("button", { type: "submit" }, "Adjuntar"),
            ),
        editForm(record),
        // a message that came from an e-mail is answered (H3): received through Pregón, or logged
        // from a staff mailbox, the client's or the staff's side of it
        (record.direction === "in" && record.channel === "email") || record.channel === "mailbox"
          ? replyForm(clientId, record, tables, () => load())
          : null,
        h(
          "button",
          {
            type: "button",
            class: "b-danger",
            onclick: async () => {
              if (!confirm("¿Quitar este registro del registro del cliente? (un mensaje sigue en el historial)")) return;
              if ((await attempt(() => api("DELETE", `${base}/register/${segment(recordId)}`))) !== undefined) {
                fill(detail);
                remember(undefined);
                load();
              }
            },
          },
          "Quitar del registro",
        ),
      ),
    );
    reveal(detail);
  }

  // Seed 004's "Adjuntos" with its a3doc column: each file of the record, whether it is published to
  // the client's document portal (Publicado: Sí/No), and "Publicar documento" or "Retirar".
  function attachmentTable(record) {
    const files = (record.attachments || []).map((a, i) => ({ ...a, index: i }));
    if (!files.length) return null;
    const box = h("div", { id: "b-publish-box" });
    return h(
      "div",
      { class: "b-attachment-table" },
      h("h4", {}, "Adjuntos"),
      table(
        [
          ["Archivo", (a) => (a.download_url ? h("a", { href: a.download_url, rel: "noopener noreferrer", target: "_blank" }, a.name) : a.name)],
          // the size, and as the list of files always said: not kept and why, deleted, who added it
          ["Tamaño", (a) => `${fileSize(a.size)}${a.omitted ? `, ${OMITTED[a.omitted] || a.omitted}` : ""}${a.deleted_at ? ", borrado" : ""}${a.added_by ? `, adjuntado por ${a.added_by_name || a.added_by}` : ""}`],
          ["Publicado", (a) => (a.published ? "Sí" : "No")],
          [
            null,
            (a) =>
              a.published
                ? h(
                    "button",
                    {
                      type: "button",
                      class: "b-danger",
                      "data-unpublish": String(a.index),
                      onclick: async () => {
                        if (!confirm(`¿Retirar «${a.name}» del portal del cliente?`)) return;
                        if ((await attempt(() => api("DELETE", `${base}/publications/${segment(a.publication_id)}`))) !== undefined) {
                          toast(`Retirado del portal: ${a.name}`);
                          view(record.communication_id);
                        }
                      },
                    },
                    "Retirar",
                  )
                : a.download_url
                  ? h("button", { type: "button", "data-publish": String(a.index), onclick: () => publishForm(box, record, a) }, "Publicar documento")
                  : null,
          ],
        ],
        files,
        { id: "b-attachments", class: "b-table b-attachments" },
      ),
      box,
    );
  }

  // "Publicar documento en a3doc": the file's name (editable), the company's categories, and
  // "Visible para el cliente", ticked as it comes.
  async function publishForm(box, record, file) {
    const categories = ((await attempt(() => api("GET", "/register/categories"))) || {}).items || [];
    const form = h(
      "form",
      {
        class: "b-form",
        id: "b-publish",
        onsubmit: async (e) => {
          e.preventDefault();
          const chosen = categories.filter((c) => form.elements[`category-${c.code}`].checked).map((c) => c.code);
          const payload = {
            record_id: record.communication_id,
            attachment: file.index,
            name: form.elements.name.value.trim(),
            categories: chosen,
            visible: form.elements.visible.checked,
          };
          if (await attempt(() => api("POST", `${base}/publications`, payload), form)) {
            toast(`Publicado en el portal del cliente: ${payload.name}`);
            view(record.communication_id);
          }
        },
      },
      h("h4", {}, "Publicar documento en el portal del cliente"),
      field("Nombre del archivo", input("name", { id: "b-publish-name", required: "", maxlength: "120", value: file.name })),
      h(
        "fieldset",
        { id: "b-publish-categories" },
        h("legend", {}, "Categorías"),
        // a sent order's PDF ticked under "Pedidos", a statement's under "Estados de cuenta"
        categories.map((c) => check(`category-${c.code}`, c.name, (file.portal_categories || []).includes(c.code))),
      ),
      check("visible", "Visible para el cliente", true),
      h("button", { type: "submit" }, "Publicar"),
    );
    fill(box, form);
    form.elements.name.focus();
  }

  // Edit a record (seed 004, "Edición de registro"): one written by hand, every field; one logged
  // automatically (a message), its motive and area only, as the API takes them.
  function editForm(record) {
    const manual = !record.automatic;
    const form = h(
      "form",
      {
        class: "b-form",
        id: "b-edit-record",
        onsubmit: async (e) => {
          e.preventDefault();
          const values = formValues(form);
          const typed = { motive: values.motive || null, area: values.area || null };
          if (manual) {
            typed.record_type = values.record_type;
            typed.initiated_by = values.initiated_by;
            typed.subject = values.subject || "";
            typed.text = values.text || null;
          }
          // only what the clerk changed: a colleague's notes saved since the form was drawn stay
          // when this clerk changes the motive (records have no ETag; the form held the old notes)
          const body = Object.fromEntries(Object.entries(typed).filter(([k, v]) => v !== (record[k] ?? null)));
          if (!Object.keys(body).length) {
            toast("Nada que guardar: no cambió ningún dato");
            return;
          }
          const path = `${base}/register/${segment(record.communication_id)}`;
          if (await attempt(() => api("PATCH", path, body), form)) {
            toast("Registro guardado");
            await load();
            view(record.communication_id);
          }
        },
      },
      h("h4", {}, manual ? "Editar el registro" : "Motivo y área"),
      manual ? field("Tipo", select("record_type", RECORD_TYPES, record.record_type, { id: "b-edit-type" })) : null,
      manual
        ? field(
            "Iniciado por",
            select("initiated_by", [["client", "El cliente"], ["staff", "Nosotros"]], record.initiated_by, { id: "b-edit-initiated" }),
          )
        : null,
      manual ? field("Asunto", input("subject", { required: "", maxlength: "300", id: "b-edit-subject", value: record.subject || "" })) : null,
      manual ? field("Notas", textarea("text", { id: "b-edit-text" })) : null,
      field("Motivo", select("motive", withCurrent(tables.motives, record.motive), record.motive || "", { id: "b-edit-motive" })),
      field("Área", select("area", withCurrent(tables.areas, record.area), record.area || "", { id: "b-edit-area" })),
      h("button", { type: "submit" }, "Guardar cambios"),
    );
    if (manual) form.elements.text.value = record.text || "";
    return form;
  }

  async function attach(recordId, file) {
    if (!file) {
      toast("Elija un archivo.", "error");
      return null;
    }
    const content_base64 = await fileBase64(file);
    const done = await attempt(() =>
      api("POST", `${base}/register/${segment(recordId)}/attachments`, {
        name: file.name,
        content_type: file.type || "application/octet-stream",
        content_base64,
      }),
    );
    if (done) toast(`Adjuntado: ${file.name}`);
    return done;
  }

  const newFile = h("input", { type: "file", name: "attachment", id: "b-new-file" });
  const add = h(
    "form",
    {
      class: "b-form",
      id: "b-add-record",
      onsubmit: async (e) => {
        e.preventDefault();
        const values = formValues(add);
        const body = {
          record_type: values.record_type,
          initiated_by: values.initiated_by,
          subject: values.subject || "",
        };
        for (const k of ["text", "motive", "area"]) if (values[k]) body[k] = values[k];
        const record = await attempt(() => api("POST", `${base}/register`, body), add); // refusals beside their box
        if (!record) return;
        if (newFile.files[0]) await attach(record.communication_id, newFile.files[0]);
        toast("Registro agregado");
        add.reset();
        await load();
        view(record.communication_id);
      },
    },
    field("Tipo", select("record_type", RECORD_TYPES, "call")),
    field(
      "Iniciado por",
      select("initiated_by", [
        ["client", "El cliente"],
        ["staff", "Nosotros"],
      ]),
    ),
    field("Asunto", input("subject", { required: "", maxlength: "300" })),
    field("Notas", textarea("text")),
    field("Motivo", select("motive", tables.motives, "", { id: "b-new-motive" })),
    field("Área", select("area", tables.areas, "", { id: "b-new-area" })),
    field("Adjunto (opcional)", newFile),
    h("button", { type: "submit" }, "Agregar registro"),
  );

  fill(main,
    h("p", {}, h("a", { href: "#/clients" }, "← Clientes")),
    heading,
    summary,
    // The client's notes (N1-N3) live on their own screen: from the client's history, one step to
    // read them and write one, the client already filled in (there was no way from here to there).
    h("p", {}, h("a", { id: "b-client-notes", href: `#/notes?${new URLSearchParams({ client: client.client_id })}` }, "Notas de este cliente: verlas y escribir una")),
    // seed 001's "Pestaña Avisos": the client's payment notices, one step away as its notes are
    h("p", {}, h("a", { id: "b-client-reminders", href: `#/reminders?${new URLSearchParams({ client: client.client_id })}` }, "Avisos de cobro de este cliente")),
    section(
      "Registro",
      // a level-4 user reads only their own records (the API's rule): an empty register is not the
      // client's whole history, and the list's "with these filters" must not read so
      ctx.user.level === 4
        ? h("p", { class: "b-muted", id: "b-register-own-only" }, "Su nivel ve solo los registros y mensajes que usted escribió o envió; los de sus compañeros no se muestran aquí.")
        : null,
      filters,
      h(
        "button",
        {
          type: "button",
          id: "b-register-export",
          // past 10,000 rows the export is built in the background (screen-kit's downloadExcel)
          onclick: () =>
            downloadExcel({
              file: `${base}/register/export${query(criteria())}`,
              name: `registro-${clientId}.xlsx`,
              exports: `${base}/register/exports`,
              filters: criteria(),
              box: registerExporting,
              rows: ["registros", "los", "escritos"],
              ids: "b-register",
            }),
        },
        "Descargar Excel",
      ),
      registerExporting,
      records,
      detail,
    ),
    section("Nuevo registro manual", add),
    section("Datos del cliente", cardBox),
    section(
      "Portal de documentos",
      h("p", { class: "b-muted" }, "Los documentos publicados desde el registro, por categoría. El enlace que recibe el cliente sirve 30 días."),
      h(
        "button",
        {
          type: "button",
          id: "b-portal-access",
          onclick: async () => {
            const sent = await attempt(() => api("POST", `${base}/portal-access`));
            if (sent) toast(`Acceso al portal enviado a ${sent.to_address}`);
          },
        },
        "Enviar acceso al portal",
      ),
      " ",
      h(
        "button",
        {
          type: "button",
          id: "b-portal-revoke",
          onclick: async () => {
            if (!confirm("¿Revocar los enlaces al portal enviados a este cliente? Dejarán de funcionar; «Enviar acceso al portal» le envía uno nuevo.")) return;
            const revoked = await attempt(() => api("POST", `${base}/portal-access/revoke`));
            if (!revoked) return;
            toast("Enlaces al portal revocados: los enviados hasta ahora ya no funcionan");
            await load(); // the register's record of who revoked them
          },
        },
        "Revocar enlaces al portal",
      ),
    ),
    ctx.user.level === 1 ? section("Informe de datos del cliente", accessReport(base)) : null,
  );
  await load();
  if (ctx.params.get("record")) await view(ctx.params.get("record")); // drawn with the screen
  else if (ctx.params.get("card")) {
    // a client just added: its card; or an address its mail came from (assigned by hand, on
    // «Correo recibido»), written on a line of its e-mails for the clerk to save
    const address = ctx.params.get("email");
    const emails = cardBox.querySelector("#b-card-emails");
    if (address && emails && !lines(emails.value).some((e) => e.toLowerCase() === address.toLowerCase())) {
      emails.value = [...lines(emails.value), address].join("\n");
      emails.focus();
    }
    reveal(cardBox.closest("section"));
  }
}

// «Informe de datos del cliente» (right of access, docs/privacy.md): an administrator asks for the
// ZIP of everything Pregón holds about the client, sees it built, and saves it (a fresh 5-minute
// link each time). Only level 1 may ask (the API refuses the others): the card shows it to them only.
function accessReport(base) {
  const status = h("div", { id: "b-access-report", role: "status", "aria-live": "polite" });
  const path = (id) => () => `${base}/access-report/${segment(id)}`;
  const save = (id) => saveExport(path(id), "El informe ya no está disponible: pídalo de nuevo.");
  const draw = (job) => {
    if (job.state === "done") {
      fill(status, h("p", {}, "El informe está listo. "), h("button", { type: "button", id: "b-access-report-file", onclick: () => save(job.report_id) }, "Descargar el informe (ZIP)"));
    } else if (job.state === "failed" || job.state === "expired") {
      fill(status, h("p", { class: "error" }, job.state === "failed" ? `No se pudo preparar: ${job.error}` : "El informe venció: pídalo de nuevo."));
    } else {
      fill(status, h("p", {}, "Preparando el informe…"));
    }
  };
  const ask = async () => {
    const started = await attempt(() => api("POST", `${base}/access-report`, {}));
    if (!started) return;
    draw(started);
    await follow(path(started.report_id), status, draw, (job) => !["queued", "running"].includes(job.state), 1500);
  };
  return h(
    "div",
    {},
    h("p", { class: "b-muted" }, "Todo lo que Pregón guarda sobre este cliente, para responder a su pedido de acceso: un ZIP con un resumen legible, los datos (JSON y CSV) y sus archivos. Léalo antes de enviarlo: incluye las notas internas."),
    h("button", { type: "button", id: "b-access-report-ask", onclick: ask }, "Pedir el informe"),
    status,
  );
}

async function render(main, ctx) {
  const clientId = ctx.params.get("client");
  if (clientId) await clientRegister(main, ctx, clientId);
  else await clientList(main, ctx);
}

register({ id: "clients", title: "Clientes", group: "Trabajo", levels: ALL_LEVELS, render });

// Seed 004's settings menu, "Configuración y utilidades / Registro de comunicaciones": where a clerk
// following the page looks for the register's tables and its mail accounts. The same tables as at
// the foot of "Clientes" (administrators: the API takes their writes from level 1 only), and the
// way to the staff mailboxes the register is logged from.
async function renderRegisterSettings(main) {
  fill(main,
    h("h1", {}, "Registro de comunicaciones"),
    h(
      "p",
      { class: "hint" },
      "Los motivos y las áreas que se eligen en el registro de cada cliente, y las categorías de los documentos publicados en su portal. ",
      "Los correos que se envían y reciben se registran solos desde las cuentas de ",
      h("a", { href: "#/mailboxes", id: "b-register-mailboxes" }, "Buzones del personal"),
      ".",
    ),
    section("Motivos, áreas y categorías del registro", registerTables()),
  );
}

register({ id: "register-settings", title: "Registro de comunicaciones", group: "Configuración", levels: [1], render: renderRegisterSettings });
