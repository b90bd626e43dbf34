// Preferred agents (N4), for staff whose directory entry holds change_preferred_agent: each preferred
// agent with how many clients; "change to" per agent, a choice among the staff directory's active
// people ("sin cambio" keeps), a preview of the moves and its token, then apply in one step and
// follow the change until it is done. A change whose clients moved meanwhile is refused (409):
// preview again.
import { api, clearErrors, fill, h, progressBar, register, segment, showErrors } from "./app.js";
import { ALL_LEVELS, empty, follow, section, table, when } from "./screen-kit.js";

const STATES = { previewed: "vista previa", applying: "aplicándose", done: "terminado" };

// An agent is a user of the staff directory: shown by name, with their user id beside it (two people
// may share a name; only the id for one the directory has no name for). A level-4 user is given each
// colleague as an opaque handle instead of the user id: by name only, the handle for one without a
// name, and the handle is what goes back in change_to, as it came.
let showIds = true;

function agentLabel(id, name) {
  if (name && !showIds) return name;
  return name ? `${name} (${id})` : id;
}

function changeStatus(change) {
  const counted = change.moved + change.skipped;
  return h(
    "div",
    { class: "b-job", id: "agent-change-status", "data-state": change.state },
    h("p", {}, `Cambio ${change.token}: ${STATES[change.state] || change.state}`),
    progressBar(change.total ? counted / change.total : change.state === "done" ? 1 : 0),
    h(
      "p",
      { class: "b-job-counts" },
      `${change.moved} movidos, ${change.skipped} sin mover, de ${change.total}` +
        (change.applied_at ? ` · aplicado ${when(change.applied_at)} por ${change.applied_by_name || change.applied_by}` : ""),
    ),
  );
}

function movesTable(change) {
  return table(
    [
      ["De", (m) => agentLabel(m.from_agent, m.from_agent_name)],
      ["A", (m) => agentLabel(m.to_agent, m.to_agent_name)],
      ["Clientes", (m) => String(m.clients)],
    ],
    change.moves,
    { class: "b-table", id: "agent-moves" },
  );
}

async function render(main, ctx) {
  showIds = ctx.user.level < 4;
  const listed = await api("GET", "/preferred-agents");
  const outcome = h("div", { id: "agent-change" });

  async function followChange(token) {
    await follow(
      () => `/preferred-agents/changes/${segment(token)}`,
      outcome,
      (change) => fill(outcome, movesTable(change), changeStatus(change)),
      (change) => change.state === "done",
    );
  }

  function showPreview(change) {
    const apply = h("button", { type: "button", id: "agent-apply" }, "Aplicar el cambio");
    const applyBox = h("div", {}, apply);
    apply.addEventListener("click", async () => {
      apply.disabled = true;
      try {
        const applied = await api("POST", "/preferred-agents/apply", { token: change.token });
        const hash = `#/agents?change=${encodeURIComponent(applied.token)}`;
        if (location.hash !== hash) history.replaceState(null, "", hash);
        fill(outcome, movesTable(applied), changeStatus(applied));
        if (applied.state !== "done") await followChange(applied.token);
        ctx.toast("Cambio de agentes aplicado.");
        drawAgents(await api("GET", "/preferred-agents"));
      } catch (error) {
        apply.disabled = false;
        fill(applyBox, apply, h("p", { class: "form-error", role: "alert" }, error.message));
      }
    });
    fill(outcome,
      h("h3", {}, "Vista previa"),
      movesTable(change),
      h("p", { class: "hint" }, `${change.total} clientes cambiarían de agente preferido. Nada cambió todavía.`),
      applyBox,
    );
  }

  // The agents and their clients, drawn again once a change is done.
  const agents = h("div", {});
  function drawAgents(answer) {
    // "Cambiar a": the people of the directory by name (the user id or handle given is what is
    // sent), the agent themselves left out; "sin cambio" first, so a row nobody touches keeps its clients.
    const inputs = answer.items.map((a) =>
      h(
        "select",
        {
          id: `agent-to-${a.agent.replace(/\W/g, "-")}`,
          name: `change_to.${a.agent}`,
          "aria-label": `Cambiar ${agentLabel(a.agent, a.agent_name)} a`,
        },
        h("option", { value: "" }, "sin cambio"),
        (answer.people || [])
          .filter((p) => p.user_id !== a.agent)
          .map((p) => h("option", { value: p.user_id }, agentLabel(p.user_id, p.name))),
      ),
    );
    const list = table(
      [
        ["Agente", (row) => agentLabel(row.agent, row.agent_name)],
        ["Clientes", (row) => String(row.clients)],
        ["Cambiar a", (row) => inputs[answer.items.indexOf(row)]],
      ],
      answer.items,
      { class: "b-table", id: "preferred-agents" },
    );
    const form = h(
      "form",
      { id: "agents-form", "aria-label": "Cambiar agentes preferidos" },
      answer.items.length ? list : empty("Ningún cliente tiene agente preferido."),
      answer.items.length ? h("button", { type: "submit" }, "Vista previa") : null,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      const changeTo = {};
      answer.items.forEach((a, i) => {
        if (inputs[i].value) changeTo[a.agent] = inputs[i].value;
      });
      try {
        showPreview(await api("POST", "/preferred-agents/changes", { change_to: changeTo }));
      } catch (error) {
        showErrors(form, error);
      }
    });
    fill(agents, form);
  }
  drawAgents(listed);
  fill(main,
    h("h1", {}, "Agentes preferidos"),
    h(
      "p",
      { class: "hint" },
      "Pase todos los clientes de un agente a otro en un paso: primero la vista previa, después «Aplicar». Cada cliente movido queda anotado en su registro.",
    ),
    section("Agentes", agents),
    section("Cambio", outcome),
  );
  const token = ctx.params.get("change");
  if (token) await followChange(token);
}

register({ id: "agents", title: "Agentes preferidos", group: "Trabajo", levels: ALL_LEVELS, render });
