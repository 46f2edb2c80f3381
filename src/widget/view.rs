//! The list: filters with counts, "Sync all ready", and a table of fulfillments with their status and
//! preview badges.

use web_sys::Element;

use super::app::App;
use super::dom::{self, append, set, Dom};
use super::model::{self, Filter, Preview, Row, SyncStatus, Tone};

/// The widget's fixed frame: what stays while rows come and go.
pub struct Frame {
    toolbar: Element,
    live: Element,
    message: Element,
    table: Element,
    body: Element,
}

impl Frame {
    /// Builds the frame inside `root`.
    pub fn new(dom: &Dom, root: &Element) -> Self {
        let shell = dom.el("section", "fp-widget");
        set(&shell, "aria-label", "TikTok Shop sync");
        let header = dom.el("header", "fp-header");
        append(&header, &dom.text_el("h2", "fp-title", "TikTok Shop sync"));
        let toolbar = dom.el("div", "fp-toolbar");
        append(&header, &toolbar);
        append(&shell, &header);
        let live = dom.el("p", "fp-live");
        set(&live, "role", "status");
        set(&live, "aria-live", "polite");
        append(&shell, &live);
        let message = dom.el("p", "fp-message");
        append(&shell, &message);
        let table = dom.el("table", "fp-table");
        append(
            &table,
            &dom.text_el(
                "caption",
                "fp-visually-hidden",
                "Fulfillments and their TikTok Shop sync",
            ),
        );
        let head = dom.el("thead", "");
        let tr = dom.el("tr", "");
        for title in [
            "Order",
            "Items",
            "Carrier → TikTok Shop provider",
            "Tracking number",
            "Sync status",
            "Preview",
        ] {
            let th = dom.text_el("th", "", title);
            set(&th, "scope", "col");
            append(&tr, &th);
        }
        append(&head, &tr);
        append(&table, &head);
        let body = dom.el("tbody", "");
        append(&table, &body);
        append(&shell, &table);
        append(root, &shell);
        Self {
            toolbar,
            live,
            message,
            table,
            body,
        }
    }

    /// Says `text` to assistive technology (and shows it).
    pub fn announce(&self, text: &str) {
        self.live.set_text_content(Some(text));
    }

    /// Gives focus back to the badge that opened a fulfillment's dialog.
    pub fn focus_opener(&self, id: &str) {
        let mut next = self.body.first_element_child();
        while let Some(tr) = next {
            if dom::attr(&tr, "data-row").as_deref() == Some(id) {
                if let Ok(Some(button)) = tr.query_selector("button[data-action=open]") {
                    dom::focus(&button);
                }
                return;
            }
            next = tr.next_element_sibling();
        }
    }

    /// Renders the toolbar and the rows of the current filter.
    pub fn render(&self, dom: &Dom, app: &App) {
        let now = app.now();
        self.render_toolbar(dom, app, now);
        dom::clear(&self.message);
        if let Some(loading) = &app.loading {
            self.message.set_text_content(Some(loading));
            if !loading.starts_with("Loading") {
                dom.append_text(&self.message, " ");
                append(
                    &self.message,
                    &dom.button("fp-button", "Try again", "reload"),
                );
            }
            set(&self.table, "hidden", "");
            return;
        }
        let _ = self.table.remove_attribute("hidden");
        let fragment = dom.fragment();
        let mut shown = 0;
        for row in app.rows.iter().filter(|r| app.filter.admits(r, now)) {
            let _ = fragment.append_child(&row_element(dom, app, row, now));
            shown += 1;
        }
        if shown == 0 {
            self.message
                .set_text_content(Some("No fulfillments match this filter."));
        }
        dom::clear(&self.body);
        let _ = self.body.append_child(&fragment);
    }

    fn render_toolbar(&self, dom: &Dom, app: &App, now: crate::Timestamp) {
        dom::clear(&self.toolbar);
        let filters = dom.el("div", "fp-filters");
        set(&filters, "role", "group");
        set(&filters, "aria-label", "Filter fulfillments");
        let counts = model::counts(&app.rows, now);
        for (filter, count) in Filter::ALL.into_iter().zip(counts) {
            let button = dom.button(
                "fp-filter",
                &format!("{} {count}", filter.label()),
                "filter",
            );
            set(&button, "data-filter", filter.key());
            set(
                &button,
                "aria-pressed",
                if filter == app.filter {
                    "true"
                } else {
                    "false"
                },
            );
            append(&filters, &button);
        }
        append(&self.toolbar, &filters);
        let ready = app
            .rows
            .iter()
            .filter(|r| model::in_bulk_sync(r) && !app.busy.contains_key(&r.id))
            .count();
        let label = match app.bulk {
            Some((done, total)) => format!("Syncing {} of {total}…", done + 1),
            None => format!("Sync all ready ({ready})"),
        };
        let sync_all = dom.button("fp-button fp-primary", &label, "sync-all");
        if ready == 0 || app.bulk.is_some() {
            set(&sync_all, "disabled", "");
        }
        if app.bulk.is_some() {
            set(&sync_all, "aria-busy", "true");
        }
        append(&self.toolbar, &sync_all);
    }
}

/// A badge: a plain `<span>`, or a button that opens the fulfillment's dialog.
pub fn badge(dom: &Dom, text: &str, tone: Tone, opens: Option<&str>) -> Element {
    match opens {
        Some(id) => {
            let button = dom.button(&format!("{} fp-chip", tone.class()), text, "open");
            set(&button, "data-id", id);
            set(&button, "aria-haspopup", "dialog");
            set(&button, "aria-label", &format!("{text}: view reason"));
            button
        }
        None => dom.text_el("span", tone.class(), text),
    }
}

fn row_element(dom: &Dom, app: &App, row: &Row, now: crate::Timestamp) -> Element {
    let tr = dom.el("tr", "");
    set(&tr, "data-row", &row.id);
    let th = dom.el("th", "fp-order");
    set(&th, "scope", "row");
    let open = dom.button("fp-link", &row.name, "open");
    set(&open, "data-id", &row.id);
    set(&open, "aria-haspopup", "dialog");
    set(&open, "aria-label", &format!("{}: view details", row.name));
    append(&th, &open);
    append(&tr, &th);

    let items = dom.el("td", "fp-items");
    for (i, item) in row.items.iter().enumerate() {
        if i > 0 {
            append(&items, &dom.el("br", ""));
        }
        dom.append_text(&items, &format!("{} × {}", item.quantity, item.title));
    }
    append(&tr, &items);

    let carrier = dom.el("td", "fp-carrier");
    dom.append_text(&carrier, row.carrier.as_deref().unwrap_or("No carrier"));
    dom.append_text(&carrier, " → ");
    match row.provider() {
        Some(provider) => append(&carrier, &dom.text_el("span", "fp-provider", provider)),
        None => append(
            &carrier,
            &dom.text_el("span", "fp-muted", "no TikTok Shop provider"),
        ),
    }
    append(&tr, &carrier);

    let tracking = dom.el("td", "fp-tracking");
    append(&tracking, &tracking_element(dom, row));
    append(&tr, &tracking);

    let status = dom.el("td", "fp-status");
    if let Some(busy) = app.busy.get(&row.id) {
        let b = badge(dom, busy, Tone::Info, None);
        set(&b, "aria-busy", "true");
        append(&status, &b);
    } else {
        let opens = (row.status == SyncStatus::SyncFailed).then_some(row.id.as_str());
        append(
            &status,
            &badge(dom, row.status.label(), row.status.tone(), opens),
        );
    }
    append(&tr, &status);

    let preview = dom.el("td", "fp-preview");
    let p = row.preview(now);
    let (text, tone) = p.badge();
    let opens = matches!(p, Preview::WillFail { .. }).then_some(row.id.as_str());
    append(&preview, &badge(dom, &text, tone, opens));
    if let Preview::WillFail { reason } = p {
        append(&preview, &dom.text_el("span", "fp-reason", reason));
    }
    if let Some(notice) = app.notices.get(&row.id) {
        let n = dom.text_el("span", "fp-notice fp-error", &notice.text);
        if let Some(code) = &notice.code {
            set(&n, "data-code", code);
        }
        append(&preview, &n);
    }
    append(&tr, &preview);
    tr
}

/// The tracking number: a link only to an `https:` tracking page.
pub fn tracking_element(dom: &Dom, row: &Row) -> Element {
    let number = row.tracking_number().unwrap_or("—");
    match &row.tracking_url {
        Some(url) if model::safe_link(url) => {
            let a = dom.text_el("a", "fp-tracking-link", number);
            set(&a, "href", url);
            set(&a, "target", "_blank");
            set(&a, "rel", "noopener noreferrer");
            a
        }
        _ => dom.text_el("span", "fp-mono", number),
    }
}
