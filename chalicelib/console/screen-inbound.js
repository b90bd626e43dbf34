// Received e-mail that matched no client (I3): the unassigned list, a message's detail (its HTML in a
// sandboxed frame, attachments), and assign it to a client (it leaves the list and enters that
// client's register). Level 4 sees only mail answering a message of theirs (the API's rule).
import { api, extend, fill, h, register, segment, toast } from "./app.js";
import {
  ALL_LEVELS,
  attachmentList,
  attempt,
  autoSubmittedNote,
  companyFormat,
  empty,
  field,
  flaggedNote,
  mailMark,
  messageName,
  input,
  messageFrame,
  query,
  reveal,
  section,
  select,
  table,
  when,
} from "./screen-kit.js";

async function render(main, ctx) {
  await companyFormat();
  const list = h("div", { id: "b-unassigned" });
  const detail = h("div", { class: "b-detail-box" });
  const address = await attempt(() => api("GET", "/inbound/address"));
  // Staff working the list may hide what machines sent (out-of-office replies, bounces, newsletters:
  // the API's auto_submitted=false); it stays one tick away.
  const people = h("input", { type: "checkbox", id: "b-people-only", onchange: () => load() });

  async function load(cursor) {
    const only = people.checked ? "false" : undefined;
    const path = `/inbound/unassigned${query({ limit: 50, cursor, auto_submitted: only })}`;
    const page = await attempt(() => api("GET", path));
    if (!page) return;
    if (!cursor) fill(list);
    list.querySelector(".b-more")?.remove();
    extend(list,
      page.items.length
        ? table(
            [
              ["Recibido", (m) => when(m.sent_at || m.created_at)],
              ["De", (m) => [m.from_name, m.from_address].filter(Boolean).join(" ")],
              ["Asunto", (m) => messageName(m)],
              ["Marca", (m) => mailMark(m)],
              ["", (m) => h("button", { type: "button", class: "b-view", "aria-label": `Ver «${messageName(m)}» de ${m.from_address}`, onclick: () => view(m.communication_id) }, "Ver")],
            ],
            page.items,
            { class: "b-table b-inbound" },
          )
        : empty(people.checked ? "No hay correo sin asignar escrito por personas." : "No hay correo sin asignar."),
    );
    if (page.next_cursor)
      extend(list, h("button", { type: "button", class: "b-more", onclick: () => load(page.next_cursor) }, "Más"));
  }

  // Administrators: what a day's ceilings held (decision 0037: a flood, a mail loop), any of the
  // last 30 days, e-mail or SMS; each sender's held e-mail may be released into the register or the
  // list, as if it had just arrived, 20 a click (the next page each time: the first 1,000 are kept).
  const admin = ctx.user.level === 1;
  const held = h("div", { id: "b-held" });
  const heldDay = input("held-day", { type: "date", onchange: () => loadHeld() });
  const heldChannel = select("held-channel", [["email", "Correo"], ["sms", "SMS"]], "email", { onchange: () => loadHeld() });
  let today = null; // the company's today, as the API first answers it

  async function loadHeld() {
    const day = await attempt(() =>
      api("GET", `/inbound/held${query({ date: heldDay.value || undefined, channel: heldChannel.value })}`),
    );
    if (!day) return;
    if (!today) {
      today = day.date;
      const earliest = new Date(`${today}T00:00:00Z`);
      earliest.setUTCDate(earliest.getUTCDate() - 30);
      Object.assign(heldDay, { value: today, max: today, min: earliest.toISOString().slice(0, 10) });
    }
    const sms = day.channel === "sms";
    const on = day.date === today ? "Hoy" : `El ${day.date}`;
    if (!day.held) return fill(held, empty(`${on === "Hoy" ? "Hoy" : "Ese día"} no se retuvo ${sms ? "ningún SMS" : "correo"}.`));
    fill(held,
      h("p", {}, `${on} se retuvieron ${day.held} ${sms ? "SMS" : "mensajes"} que pasaron del límite diario de ${sms ? "SMS" : "correo"} recibido.`),
      table(
        [
          ["De", (s) => s.address],
          ["Recibidos", (s) => String(s.received)],
          ["Retenidos", (s) => String(s.held ?? "")],
          ...(sms
            ? []
            : [
                ["Para liberar", (s) => `${s.releasable.length}${s.next_cursor ? " (y más)" : ""}`],
                ["", (s) => s.releasable.length
                  ? h("button", { type: "button", class: "b-release", "aria-label": `Liberar el correo de ${s.address}`, onclick: () => release(day.date, s.address) }, s.next_cursor ? `Liberar ${s.releasable.length}` : "Liberar")
                  : null],
              ]),
        ],
        day.senders,
        { class: "b-table b-held" },
      ),
    );
  }

  async function release(date, address) {
    const done = await attempt(() => api("POST", "/inbound/held/release", { date, address }));
    if (!done) return;
    toast(`Liberados ${done.released.length} de ${address}`);
    await Promise.all([load(), loadHeld()]);
  }

  // The open message in the address (as the clients' register and the tickets do): a reload, or the
  // sign-in after a session that ended, opens it again, and with it what was typed in its assign form
  // (app.js's drafts, kept per screen address and put back once the screen is drawn).
  function remember(id) {
    const hash = `#/inbound${query({ message: id })}`;
    if (main.isConnected && location.hash !== hash) history.replaceState(null, "", hash); // not once left
  }

  async function view(id) {
    const message = await attempt(() => api("GET", `/inbound/${segment(id)}`));
    if (!message) return;
    remember(message.communication_id);
    const client = input("assign_client", {
      required: "",
      list: "b-candidates",
      autocomplete: "off",
      placeholder: "Nombre, código o e-mail del cliente",
    });
    const suggested = (message.candidate_clients || []).map((c) => (typeof c === "string" ? { client_id: c } : c));
    const candidates = h("datalist", { id: "b-candidates" });
    const offer = (found) =>
      fill(candidates, ...[...suggested, ...found.filter((c) => !suggested.some((s) => s.client_id === c.client_id))]
        .map((c) => h("option", { value: c.client_id }, c.name ? `${c.name} (${c.client_id})` : c.client_id)));
    offer([]);
    // The clerk knows the client by name, seldom by code (seed 004): what they type is looked up
    // among the clients as they type (as the client list's search does), offered to pick from.
    const lookUp = async (text) => ((await api("GET", `/clients${query({ q: text, limit: 10 })}`)) || {}).items || [];
    let typing = null;
    client.addEventListener("input", () => {
      clearTimeout(typing);
      const text = client.value.trim();
      if (!/[\p{L}\p{N}]{2}/u.test(text) && !text.includes("@")) return;
      typing = setTimeout(async () => offer(await lookUp(text).catch(() => [])), 250);
    });
    // What was typed, as a client's code: a code as it is; a name (or part of one, an e-mail) that
    // names one client, that client; anything else is said beside the box, nothing assigned.
    const code = async (text) => {
      if (suggested.some((c) => c.client_id === text)) return text;
      const found = await lookUp(text);
      offer(found);
      if (found.some((c) => c.client_id === text)) return text;
      const plain = (s) => s.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase();
      const same = found.filter((c) => plain(c.name || "") === plain(text));
      if (same.length === 1 || found.length === 1) return (same[0] || found[0]).client_id;
      if (!found.length && /^[A-Za-z0-9._-]+$/.test(text)) return text; // a code: the API says if there is none
      const err = new Error(text);
      err.fields = {
        assign_client: found.length
          ? `Varios clientes coinciden con «${text}»: elija uno de la lista.`
          : `Ningún cliente coincide con «${text}»: escriba su nombre, su código o su e-mail.`,
      };
      throw err;
    };
    fill(detail,
      h(
        "article",
        { class: "b-detail", "data-id": message.communication_id },
        h("h3", {}, messageName(message)),
        h(
          "dl",
          {},
          [
            ["De", [message.from_name, message.from_address].filter(Boolean).join(" ")],
            ["Para", message.to_address],
            ["Recibido", when(message.sent_at || message.created_at)],
            ["Marcado", flaggedNote(message)],
            ["Automático", autoSubmittedNote(message)],
            ["Problemas", message.error],
          ]
            .filter(([, v]) => v)
            .flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]),
        ),
        messageFrame(message.html, "Correo recibido", { received: true }),
        message.text ? h("pre", { class: "b-text" }, message.text) : null,
        attachmentList(message.attachments),
        message.unassigned
          ? h(
              "form",
              {
                class: "b-inline",
                id: "b-assign",
                onsubmit: async (e) => {
                  e.preventDefault();
                  const form = e.currentTarget;
                  let clientId = null;
                  const done = await attempt(async () => {
                    clientId = await code(client.value.trim());
                    return api("POST", `/inbound/${segment(id)}/assign`, { client_id: clientId }).catch((err) => {
                      // the API names client_id; the box is this form's assign_client
                      if (err.fields && err.fields.client_id) err.fields = { assign_client: err.fields.client_id };
                      throw err;
                    });
                  }, form);
                  if (done) {
                    toast(`Asignado a ${clientId}`);
                    remember(undefined); // it left the list: a reload shows the list, not this message
                    fill(detail,
                      h(
                        "p",
                        {},
                        "Asignado. ",
                        h(
                          "a",
                          { href: `#/clients?client=${encodeURIComponent(clientId)}&record=${encodeURIComponent(id)}` },
                          `Verlo en el registro de ${clientId}`,
                        ),
                      ),
                      // an address no client has: the next mail from it is unassigned again until
                      // the client's card holds it (seed 004: the clients' e-mails make the register)
                      message.from_address && !suggested.length
                        ? h(
                            "p",
                            { id: "b-assigned-address" },
                            `El próximo correo de ${message.from_address} también llegará sin asignar mientras la ficha del cliente no tenga esa dirección. `,
                            h(
                              "a",
                              { href: `#/clients${query({ client: clientId, card: "1", email: message.from_address })}`, id: "b-assigned-card" },
                              `Agregarla en la ficha de ${clientId}`,
                            ),
                          )
                        : null,
                    );
                    load();
                  }
                },
              },
              field("Asignar al cliente", client),
              candidates,
              h("button", { type: "submit" }, "Asignar"),
            )
          : h("p", {}, `Asignado a ${message.client_id}`),
      ),
    );
    reveal(detail);
  }

  fill(main,
    h("h1", {}, "Correo recibido sin asignar"),
    address ? h("p", { class: "b-muted" }, `Dirección de entrada de la empresa: ${address.address}`) : null,
    section(
      "Sin asignar",
      h("label", { class: "b-check" }, people, " Ocultar el correo automático (respuestas automáticas, avisos de entrega, masivos)"),
      list,
      detail,
    ),
    admin ? section("Retenido", h("div", { class: "b-inline" }, field("Día", heldDay), field("Canal", heldChannel)), held) : null,
  );
  await load();
  if (admin) await loadHeld();
  if (ctx.params.get("message")) await view(ctx.params.get("message")); // drawn with the screen
}

register({ id: "inbound", title: "Correo recibido", group: "Trabajo", levels: ALL_LEVELS, render });
