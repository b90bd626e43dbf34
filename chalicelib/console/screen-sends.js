// Sends (C8, C6): pick clients by list or by filter and a template, send by e-mail, SMS or push, and
// follow the job's progress (polling GET /sends/{job_id}) until nothing waits.
import { api, extend, fill, h, progressBar, register, segment, templateTitle, toast } from "./app.js";
import {
  ALL_LEVELS,
  attempt,
  clientPage,
  companyFormat,
  empty,
  field,
  follow,
  formValues,
  input,
  label,
  requestId,
  section,
  select,
  table,
  textarea,
  when,
} from "./screen-kit.js";

const SWITCHES = [
  ["", "(todos los clientes)"],
  ["tracking", "Seguimiento"],
  ["invoice", "Facturas"],
  ["payment_email", "Pagos (e-mail)"],
  ["payment_sms", "Pagos (SMS)"],
  ["ticket", "Tickets"],
  ["reminder", "Recordatorios"],
  ["statement", "Estados de cuenta"],
];

export function jobProgress(job) {
  const done = job.sent + job.failed + job.skipped;
  const fraction = job.total ? done / job.total : job.state === "done" ? 1 : 0;
  return h(
    "div",
    { class: "b-job", "data-job": job.job_id, "data-state": job.state },
    progressBar(fraction),
    h(
      "p",
      { class: "b-job-counts" },
      `${Math.round(fraction * 100)} % · total ${job.total} · enviados ${job.sent} · fallidos ${job.failed}` +
        ` · omitidos ${job.skipped} · en espera ${job.waiting} · ${label(job.state)}`,
    ),
  );
}

function parseVariables(text) {
  const variables = {};
  for (const line of (text || "").split("\n")) {
    const at = line.indexOf("=");
    if (at > 0) variables[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return variables;
}

async function render(main, ctx) {
  await companyFormat();
  const templates = await api("GET", "/templates");
  const picked = new Set();
  // A list of the clients (each an <li>; "Más clientes" too): a list holds only its items.
  const clientList = h("ul", { class: "b-plain b-client-pick" });
  const status = h("div", { class: "b-send-status", "aria-live": "polite" });

  const channel = select("channel", [
    ["email", "E-mail"],
    ["sms", "SMS"],
    ["push", "Push"],
  ]);
  // Only the templates a manual send can fill (the API's manual_send: the client's and the
  // company's variables): a tracking alert or an invoice needs a parcel or an invoice it has not.
  const usable = templates.items.filter((t) => t.manual_send);
  const template = select(
    "template",
    usable.map((t) => [t.key, `${templateTitle(t)} (${t.key})`]),
  );
  const templateHint = usable.length
    ? "Las plantillas propias de la empresa y el acceso al portal de documentos: las demás (seguimiento, facturas…) necesitan datos que un envío manual no tiene."
    : null;
  const noTemplate = usable.length
    ? null
    : h(
        "p",
        { class: "b-empty", id: "b-no-template", role: "status" },
        "Todavía no hay plantillas para envíos manuales: un administrador crea una plantilla propia en ",
        h("a", { href: "#/templates" }, "Plantillas"),
        ".",
      );
  const password = input("bulk_password", { type: "password", autocomplete: "off" });
  const passwordField = field("Contraseña de envíos masivos (SMS a más de un cliente)", password);
  passwordField.hidden = true;
  // A template is offered only for the channels it has a text for (an SMS-only template of the
  // seed's "Agregar sms" has no e-mail and no push): the others are shown but cannot be picked.
  const channelsOf = new Map(usable.map((t) => [t.key, t.channels || ["email", "sms", "push"]]));
  function fitTemplates() {
    for (const option of template.options) option.disabled = !channelsOf.get(option.value).includes(channel.value);
    if (template.selectedOptions[0] && template.selectedOptions[0].disabled) {
      const first = [...template.options].find((o) => !o.disabled);
      if (first) template.value = first.value;
    }
  }
  fitTemplates();
  channel.onchange = () => {
    passwordField.hidden = channel.value !== "sms";
    fitTemplates();
  };
  const idsBox = textarea("client_ids", { rows: "3", placeholder: "CLI-1, CLI-2 ..." });
  const byList = input("by", { type: "radio", value: "list", checked: "", id: "b-by-list" });
  const byFilter = input("by", { type: "radio", value: "filter", id: "b-by-filter" });

  async function loadClients(cursor) {
    const page = await clientPage(cursor);
    const rows = page.items.map((c) => {
      const box = h("input", {
        type: "checkbox",
        value: c.client_id,
        "aria-label": c.client_id,
        onchange: (e) => (e.target.checked ? picked.add(c.client_id) : picked.delete(c.client_id)),
      });
      // where the send can reach them: e-mails and phones (an SMS to a client without a phone is skipped)
      const reach = [...(c.emails || []), ...(c.phones || [])].join(", ") || "sin e-mail ni teléfono";
      return h("li", {}, h("label", {}, box, ` ${c.client_id} · ${c.name} · ${reach}`));
    });
    extend(clientList, ...rows);
    if (page.next_cursor) {
      const more = h(
        "li",
        {},
        h("button", { type: "button", onclick: () => (more.remove(), loadClients(page.next_cursor)) }, "Más clientes"),
      );
      extend(clientList, more);
    }
  }
  const selectAll = h(
    "button",
    {
      type: "button",
      id: "b-select-all",
      onclick: () => {
        for (const box of clientList.querySelectorAll("input[type=checkbox]")) {
          box.checked = true;
          picked.add(box.value);
        }
      },
    },
    "Seleccionar todos los listados",
  );

  const form = h(
    "form",
    {
      class: "b-form",
      id: "b-send-form",
      onsubmit: (e) => {
        e.preventDefault();
        send();
      },
    },
    field("Canal", channel),
    noTemplate || field("Plantilla", template, templateHint),
    h(
      "fieldset",
      {},
      h("legend", {}, "Destinatarios"),
      h("label", {}, byList, " Por lista"),
      h("label", {}, byFilter, " Por filtro"),
      h(
        "div",
        { class: "b-by-list" },
        field("Códigos de cliente (separados por coma o línea)", idsBox),
        selectAll,
        clientList,
      ),
      h(
        "div",
        { class: "b-by-filter" },
        field("Sólo clientes con este aviso activo", select("switch", SWITCHES)),
        field("Vendedor preferido", input("preferred_agent")),
        field("Cobrador", input("collection_agent")),
      ),
    ),
    field("Variables extra (una por línea: nombre=valor)", textarea("variables", { rows: "2" })),
    passwordField,
    h("button", { type: "submit", id: "b-send", disabled: !usable.length }, "Enviar"),
  );

  async function send() {
    const values = formValues(form);
    const body = {
      channel: channel.value,
      template: template.value,
      variables: parseVariables(values.variables),
      request_id: requestId(),
    };
    if (values.bulk_password && channel.value === "sms") body.bulk_password = values.bulk_password;
    if (form.querySelector("#b-by-filter").checked) {
      body.filter = {};
      for (const k of ["switch", "preferred_agent", "collection_agent"]) if (values[k]) body.filter[k] = values[k];
    } else {
      const typed = (values.client_ids || "").split(/[\s,;]+/).filter(Boolean);
      body.client_ids = [...new Set([...typed, ...picked])];
      if (!body.client_ids.length) {
        toast("Elija al menos un cliente.", "error");
        return;
      }
    }
    const answer = await attempt(() => api("POST", "/sends", body));
    if (!answer) return;
    fill(status);
    if (answer.job) {
      const count = answer.job.selection && answer.job.selection.client_ids;
      toast(typeof count === "number" ? `Envío iniciado a ${count} clientes` : "Envío iniciado");
      await watch(answer.job.job_id);
      loadJobs();
    } else {
      extend(status,
        h("p", {}, `Enviado a un cliente: ${answer.messages.length} mensaje(s)`),
        table(
          [
            ["Para", (m) => m.to_address],
            ["Asunto", (m) => m.subject],
            ["Estado", (m) => label(m.state)],
          ],
          answer.messages,
        ),
      );
    }
  }

  async function watch(jobId) {
    const box = h("div", {});
    fill(status, h("h3", {}, `Trabajo ${jobId}`), box);
    await follow(
      () => `/sends/${segment(jobId)}`,
      status,
      (job) => fill(box, jobProgress(job)),
      (job) => job.state === "done",
    );
  }

  const jobs = h("div", { class: "b-jobs" });
  async function loadJobs() {
    const page = await attempt(() => api("GET", "/sends?limit=20"));
    if (!page) return;
    fill(jobs,
      page.items.length
        ? table(
            [
              ["Creado", (j) => when(j.created_at)],
              ["Por", (j) => j.created_by_name || j.created_by], // by name, not the user's id
              ["Canal", (j) => label(j.channel)],
              // by the title the form offers it under ("Plantilla propia «aviso»"), not its key
              ["Plantilla", (j) => templateTitle(templates.items.find((t) => t.key === j.template_key) || { key: j.template_key, title: j.template_key })],
              ["Progreso", (j) => jobProgress(j)],
              ["", (j) => (j.state === "done" ? null : h("button", { type: "button", onclick: () => watch(j.job_id) }, "Seguir"))],
            ],
            page.items,
          )
        : // a level-4 user's own among the company's most recent (a page reads a bounded part)
          empty(page.next_cursor ? "Ninguno suyo entre los envíos más recientes de la empresa." : "Todavía no hay envíos masivos."),
    );
  }

  fill(main,
    h("h1", {}, "Envíos"),
    section("Nuevo envío", form, status),
    section("Envíos masivos recientes", jobs),
  );
  if (ctx.params.get("job")) watch(ctx.params.get("job"));
  await Promise.all([loadClients(), loadJobs()]);
}

register({ id: "sends", title: "Envíos", group: "Trabajo", levels: ALL_LEVELS, render });
