// Sending domains (docs/deliverability.md, "Sending domains (SES)"): the domains an SES sender account
// may send from. Register one, then publish the DNS records the API answers (DKIM, MAIL FROM MX and
// SPF, DMARC) at the domain's DNS host, each easy to copy; its verification and what Gmail and Yahoo
// ask of bulk senders, as the API sees them now. "Quitar" removes a domain (its SES identity too) after a
// confirmation; the API refuses while SES sender accounts send from it, naming them, and the console says so.
import { api, clearErrors, fill, h, register, segment, showErrors, when } from "./app.js";

const PURPOSES = { dkim: "DKIM", mail_from_mx: "MAIL FROM (MX)", mail_from_spf: "MAIL FROM (SPF)", dmarc: "DMARC" };
const STATES = {
  verified: "Verificado",
  pending: "Pendiente",
  failed: "Falló",
  temporary_failure: "Falla temporal",
  not_started: "Sin empezar",
  published: "Publicado",
  not_found: "No publicado",
  unknown: "El DNS no respondió",
};
const CHECKS = {
  spf: "SPF",
  dkim: "DKIM",
  dmarc: "DMARC",
  dmarc_alignment: "Alineación DMARC",
  one_click_unsubscribe: "Baja en un clic",
  complaint_rate: "Tasa de quejas",
};
const CHECK_STATES = { pass: "Cumple", fail: "No cumple", unknown: "Sin datos" };
const GOOD = new Set(["verified", "published", "pass"]);

function stateCell(code, labels) {
  return h("td", { class: GOOD.has(code) ? "ok" : "form-error", "data-state": code }, labels[code] || code);
}

// A value to publish as is: a read-only box (select it and copy) and a button that copies it.
function copyable(value, label) {
  const box = h("input", { value, title: value, readonly: true, class: "copy", "aria-label": label, size: 16 });
  box.addEventListener("focus", () => box.select());
  // the CSSOM, not style attributes: the box takes the column's width, the button stays beside it;
  // never narrower than a few words (on a phone the records' table scrolls sideways instead)
  Object.assign(box.style, { flex: "1 1 auto", minWidth: "10rem", width: "100%", fontFamily: "ui-monospace, monospace" });
  const button = h("button", { type: "button", class: "secondary", "aria-label": `Copiar: ${label}` }, "Copiar");
  button.addEventListener("click", async () => {
    box.select();
    try {
      await navigator.clipboard.writeText(value);
      button.textContent = "Copiado";
    } catch {
      button.textContent = "Seleccionado: Ctrl+C";
    }
    setTimeout(() => (button.textContent = "Copiar"), 2500);
  });
  const pair = h("span", {}, box, button);
  Object.assign(pair.style, { display: "flex", gap: ".3rem", alignItems: "center" });
  return pair;
}

// An unverified registration lapses (the API's lapses_at): after that, another company may take the
// domain over. Said while it can still be kept, and once it is past.
function lapse(d) {
  if (d.verified || !d.lapses_at) return null;
  const past = new Date(d.lapses_at) <= new Date();
  return h(
    "p",
    { class: past ? "form-error" : "hint", id: "domain-lapses" },
    past
      ? `El registro venció el ${when(d.lapses_at)} sin que Amazon SES verificara el dominio: otra empresa puede registrarlo. Publique los registros para conservarlo.`
      : `Si Amazon SES no lo verifica antes del ${when(d.lapses_at)}, el registro vence y otra empresa podrá registrar el dominio.`,
  );
}

function detail(d, ctx, reload) {
  const zone = d.records.map((r) => `${r.name}. 3600 IN ${r.type} ${r.value}`).join("\n");
  const again = h("button", { type: "button", class: "secondary", id: "domain-reload" }, "Volver a consultar");
  again.addEventListener("click", reload);
  return h(
    "section",
    { class: "card", id: "domain-detail", "data-domain": d.domain },
    h("h2", {}, d.domain),
    h(
      "p",
      { class: d.verified ? "ok" : "form-error", id: "domain-verified" },
      d.verified
        ? "Verificado: las cuentas de SES pueden enviar desde este dominio."
        : "Todavía sin verificar: publique los registros y vuelva a consultar.",
    ),
    lapse(d),
    h("p", { class: "hint" }, `Rebotes por el subdominio ${d.mail_from_domain} · registrado ${when(d.created_at)}`),
    h("h3", {}, "Registros DNS a publicar"),
    h(
      "table",
      { id: "domain-records" },
      h("thead", {}, h("tr", {}, ["Para", "Tipo", "Nombre", "Valor", "Estado"].map((t) => h("th", { scope: "col" }, t)))),
      h(
        "tbody",
        {},
        d.records.map((r, i) =>
          h(
            "tr",
            { "data-purpose": r.purpose },
            h("td", {}, PURPOSES[r.purpose] || r.purpose),
            h("td", {}, r.type),
            h("td", {}, copyable(r.name, `nombre del registro ${i + 1}`)),
            h("td", {}, copyable(r.value, `valor del registro ${i + 1}`)),
            stateCell(r.state, STATES),
          ),
        ),
      ),
    ),
    h(
      "details",
      {},
      h("summary", {}, "Todos juntos, en formato de archivo de zona"),
      h("pre", { class: "answer", id: "domain-zone" }, zone),
    ),
    h("p", { class: "hint" }, "El registro DMARC es un comienzo (p=none): súbalo a quarantine cuando los informes muestren solo su correo."),
    h("h3", {}, "Lo que Gmail y Yahoo piden a quien envía en cantidad"),
    h(
      "table",
      { id: "domain-checks" },
      h("thead", {}, h("tr", {}, ["Requisito", "Estado", "Detalle"].map((t) => h("th", { scope: "col" }, t)))),
      h(
        "tbody",
        {},
        d.bulk_sender_checks.map((c) =>
          h("tr", { "data-check": c.requirement }, h("td", {}, CHECKS[c.requirement] || c.requirement), stateCell(c.state, CHECK_STATES), h("td", {}, c.detail)),
        ),
      ),
    ),
    again,
  );
}

// Remove a domain after a confirmation; a refusal (SES accounts still send from it) says which ones.
function removeButton(domain, ctx, open, reload) {
  const button = h("button", { type: "button", class: "danger", "aria-label": `Quitar el dominio ${domain}` }, "Quitar");
  button.addEventListener("click", async () => {
    const question = `¿Quitar el dominio ${domain}? Se borra también su identidad en Amazon SES; para volver a usarlo habrá que registrarlo y verificarlo de nuevo.`;
    if (!window.confirm(question)) return;
    try {
      await api("DELETE", `/sender-domains/${segment(domain)}`);
      ctx.toast(`Dominio ${domain} quitado.`);
      if (open === domain) ctx.navigate("sender-domains");
      else await reload();
    } catch (error) {
      ctx.toast(`No se quitó ${domain}: ${error.message}`, "error");
    }
  });
  return button;
}

async function render(main, ctx) {
  const open = ctx.params.get("domain");
  const [listed, shown] = await Promise.all([
    api("GET", "/sender-domains"),
    open ? (async () => api("GET", `/sender-domains/${segment(open)}`))().catch((error) => error) : null,
  ]);
  const domain = h("input", { id: "new-domain", name: "domain", autocomplete: "off", placeholder: "avisos.example.com" });
  const form = h(
    "form",
    { id: "new-domain-form", class: "row", novalidate: true },
    h("span", { class: "field" }, h("label", { for: domain.id }, "Dominio de los remitentes"), domain),
    h("button", { type: "submit" }, "Registrar el dominio"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    try {
      const added = await api("POST", "/sender-domains", { domain: domain.value.trim() });
      ctx.toast(`Dominio ${added.domain} registrado: publique sus registros.`);
      ctx.navigate("sender-domains", { domain: added.domain });
    } catch (error) {
      showErrors(form, error);
    }
  });
  const list = listed.items.length
    ? h(
        "table",
        { id: "sender-domains" },
        h("thead", {}, h("tr", {}, ["Dominio", "Verificado", "Registros verificados", "Registrado", "Acciones"].map((t) => h("th", { scope: "col" }, t === "Acciones" ? h("span", { class: "visually-hidden" }, t) : t)))),
        h(
          "tbody",
          {},
          listed.items.map((d) =>
            h(
              "tr",
              { "data-domain": d.domain },
              h("th", { scope: "row" }, h("a", { href: `#/sender-domains?domain=${encodeURIComponent(d.domain)}` }, d.domain)),
              h("td", { class: d.verified ? "ok" : "form-error" }, d.verified ? "Sí" : "No"),
              h("td", {}, `${d.records.filter((r) => GOOD.has(r.state)).length} de ${d.records.length}`),
              h("td", {}, when(d.created_at)),
              h("td", {}, removeButton(d.domain, ctx, open, () => render(main, ctx))),
            ),
          ),
        ),
      )
    : h("p", { class: "hint" }, "Todavía no hay dominios registrados.");
  let opened = null;
  if (shown instanceof Error) opened = h("p", { class: "form-error", role: "alert" }, shown.message);
  else if (shown) opened = detail(shown, ctx, () => render(main, ctx));
  fill(main,
    h("h1", {}, "Dominios de envío"),
    h("p", { class: "hint" }, "Una cuenta de envío de Amazon SES envía solo desde un dominio registrado aquí y verificado."),
    list,
    opened,
    h("section", { class: "card" }, h("h2", {}, "Registrar un dominio"), form),
  );
}

register({ id: "sender-domains", title: "Dominios de envío", group: "Correo", levels: [1], render });
