// Fired alerts: the unacknowledged alerts the reader may read (GET /api/v1/alerts?acked=
// false) listed beside the map, refreshed when /live sends an alerts frame (the list
// flashes), each acknowledged with one click (POST /api/v1/alerts/{id}/ack).

/** One line of the list. */
export function alertText(a) {
  const who = a.other_mmsi ? `MMSI ${a.mmsi} and ${a.other_mmsi}` : `MMSI ${a.mmsi}`;
  return `${a.rule_name ?? a.rule_id} · ${a.kind.replace("_", " ")} · ${who} · ${a.ts}`;
}

/** Fill ``aside`` with ``alerts`` (text only); ``onAck(alert)`` on its button. */
export function showAlerts(aside, alerts, onAck) {
  const head = document.createElement("h2");
  head.textContent = `Alerts not acknowledged: ${alerts.length}`;
  const list = document.createElement("ul");
  for (const a of alerts) {
    const li = document.createElement("li");
    li.dataset.alert = a.alert_id;
    const span = document.createElement("span");
    span.textContent = alertText(a);
    const ack = document.createElement("button");
    ack.type = "button";
    ack.textContent = "Ack";
    ack.addEventListener("click", () => onAck(a));
    li.append(span, ack);
    list.append(li);
  }
  aside.replaceChildren(head, list);
  aside.dataset.count = String(alerts.length);
}
