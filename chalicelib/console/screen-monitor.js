// The alert monitor (T9): every alert type with enabled, frequency, last and next run, counts sent and
// failed; an administrator switches a type on or off and changes its frequency (PUT /alerts/{type}).
import { api, clearErrors, fill, h, register, segment, showErrors } from "./app.js";

const NAMES = {
  tracking: "Seguimiento de envíos",
  pickup_approved: "Retiro aprobado",
  pickups_confirmed: "Retiros confirmados",
  reminders: "Recordatorios de pago",
};

function row(item, ctx, redraw) {
  const daily = item.alert_type === "reminders";
  const id = `alert-${item.alert_type}`;
  const enabled = h("input", { type: "checkbox", id: `${id}-enabled`, name: "enabled", checked: item.enabled });
  const amount = daily
    ? h("input", { type: "number", id: `${id}-hour`, name: "hour_of_day", min: 0, max: 23, value: item.hour_of_day ?? 8 })
    : h("input", { type: "number", id: `${id}-frequency`, name: "frequency_minutes", min: 0, max: 10080, value: item.frequency_minutes });
  const form = h(
    "form",
    { class: "row", id: `${id}-form`, "aria-label": NAMES[item.alert_type] || item.alert_type },
    h("label", { for: enabled.id }, enabled, " activa"),
    h("label", { for: amount.id }, daily ? "hora del día" : "cada (minutos)"),
    amount,
    h("button", { type: "submit" }, "Guardar"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const body = { enabled: enabled.checked };
    if (daily) body.hour_of_day = Number(amount.value);
    else body.frequency_minutes = Number(amount.value);
    try {
      // saved only if no one else changed the alert's settings since this row was drawn
      await api("PUT", `/alerts/${segment(item.alert_type)}`, body, { ifMatch: item.etag });
      const runs = !daily && body.enabled && body.frequency_minutes > 0;
      ctx.toast(runs ? "Alerta guardada: corre en el próximo minuto." : "Alerta guardada.");
      await redraw();
    } catch (error) {
      showErrors(form, error);
    }
  });
  return h(
    "tr",
    { "data-alert": item.alert_type },
    h("th", { scope: "row" }, NAMES[item.alert_type] || item.alert_type),
    // 0 minutes switches a frequency type off (seed 000: "en frecuencia ingresar CERO"), ticked or not
    h("td", { class: "enabled" }, item.enabled && (daily || item.frequency_minutes > 0) ? "Sí" : "No"),
    h(
      "td",
      { class: "frequency" },
      daily ? `diaria, ${item.hour_of_day ?? "—"} h` : item.frequency_minutes > 0 ? `${item.frequency_minutes} min` : "0 min: apagada",
    ),
    h("td", {}, item.last_run_shown || "—"),
    // a saved frequency runs at the scheduler's next minute (decision 0002), not at the time it shows
    h("td", { class: "next" }, item.next_run_due ? "ahora: en el próximo minuto" : item.next_run_shown || "—"),
    h("td", {}, `${item.sent_count} / ${item.failed_count}`),
    h("td", {}, form),
  );
}

async function render(main, ctx) {
  async function redraw() {
    const monitor = await api("GET", "/alerts");
    const zone = monitor.items[0] ? monitor.items[0].time_zone : "";
    fill(main,
      h("h1", {}, "Monitor de alertas"),
      h("p", { class: "hint" }, `Cada tipo de alerta que la empresa puede usar. Horarios en ${zone}. 0 minutos la apaga. Al guardar una frecuencia, la alerta corre en el próximo minuto y desde entonces cada tantos minutos.`),
      h(
        "table",
        { id: "alert-monitor" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["Tipo", "Activa", "Frecuencia", "Última ejecución", "Próxima ejecución", "Enviadas / fallidas", "Cambiar"].map(
              (title) => h("th", { scope: "col" }, title),
            ),
          ),
        ),
        h("tbody", {}, monitor.items.map((item) => row(item, ctx, redraw))),
      ),
    );
  }
  await redraw();
}

register({ id: "monitor", title: "Monitor de alertas", group: "Configuración", levels: [1], render });
