//! The dialog of one fulfillment: each problem's reason, solution and specifics, the fixes (a carrier
//! mapping, the tracking number, checked as it is typed) and Re-sync. A modal `<dialog>`: focus stays
//! inside, Esc closes it.

use std::sync::atomic::{AtomicU32, Ordering};

use gloo_events::EventListener;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlDialogElement, HtmlInputElement, HtmlSelectElement};

use crate::action::Action;
use crate::dom::{self, append, set, Dom, Part};
use crate::model::{self, Row};
use crate::state::State;
use crate::view;
use preflight::report::{Data, Rule, Severity};
use preflight::{Diagnostic, Report, Timestamp, Verdict};

static NEXT_ID: AtomicU32 = AtomicU32::new(0);

/// An open dialog. Dropping it detaches its listener; [`Detail::remove`] takes it out of the page.
pub struct Detail {
    row_id: String,
    carrier: Option<String>,
    dialog: HtmlDialogElement,
    status: Element,
    failure: Element,
    checks: Element,
    mapping: Element,
    select: Option<HtmlSelectElement>,
    /// The providers the mapping's choices listed (names, joined).
    select_for: String,
    /// The shop's version the mapping's choices were last checked at.
    select_version: String,
    input: HtmlInputElement,
    link: Element,
    link_input: HtmlInputElement,
    notice: Element,
    resync: Element,
    draft: Option<String>,
    draft_report: Option<Report>,
    _on_close: EventListener,
}

impl Detail {
    /// Opens the dialog of row `id` in `root`; `on_close` runs once it closed (Esc, Close, or a
    /// click on the backdrop's close button).
    pub fn open(
        dom: &Dom,
        root: &Element,
        state: &State,
        id: &str,
        on_close: impl FnMut() + 'static,
    ) -> Self {
        let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let row = state.row(id);
        let dialog: HtmlDialogElement = dom.el("dialog", "fp-dialog").unchecked_into();
        let title_id = format!("fp-dialog-title-{n}");
        set(&dialog, "aria-labelledby", &title_id);
        let title = dom.parts_el(
            "h2",
            "fp-dialog-title",
            &[
                Part::Ours("Order "),
                Part::Theirs(row.map_or("", |r| r.name.as_str())),
            ],
        );
        set(&title, "id", &title_id);
        append(&dialog, &title);
        let status = dom.el("p", "fp-dialog-status");
        append(&dialog, &status);
        let failure = dom.el("section", "fp-failure");
        append(&dialog, &failure);
        let checks = dom.el("section", "fp-checks");
        set(&checks, "aria-live", "polite");
        set(&checks, "aria-label", "Problems");
        append(&dialog, &checks);

        let mapping = dom.el("section", "fp-fix fp-mapping");
        append(&dialog, &mapping);

        let tracking = dom.el("section", "fp-fix");
        let input_id = format!("fp-tracking-{n}");
        let hint_id = format!("fp-tracking-hint-{n}");
        let label = dom.text_el("label", "fp-label", "Tracking number");
        set(&label, "for", &input_id);
        append(&tracking, &label);
        let field = dom.el("div", "fp-field");
        let input: HtmlInputElement = dom.el("input", "fp-input").unchecked_into();
        set(&input, "id", &input_id);
        set(&input, "type", "text");
        set(&input, "autocomplete", "off");
        set(&input, "spellcheck", "false");
        dom::set_action(&input, Action::Tracking);
        set(&input, "aria-describedby", &hint_id);
        input.set_value(row.and_then(Row::tracking_number).unwrap_or(""));
        append(&field, &input);
        append(
            &field,
            &dom.button("fp-button", "Save tracking number", Action::SaveTracking),
        );
        append(&tracking, &field);
        let hint = dom.text_el(
            "p",
            "fp-hint",
            "Checked as you type. TikTok Shop accepts one change after shipping: check the number before you sync.",
        );
        set(&hint, "id", &hint_id);
        append(&tracking, &hint);
        append(&dialog, &tracking);

        // The manual link, for an order the chain could not link.
        let link = dom.el("section", "fp-fix fp-link-order");
        let link_id = format!("fp-link-{n}");
        let label = dom.text_el("label", "fp-label", "TikTok Shop order ID");
        set(&label, "for", &link_id);
        append(&link, &label);
        let field = dom.el("div", "fp-field");
        let link_input: HtmlInputElement = dom.el("input", "fp-input").unchecked_into();
        set(&link_input, "id", &link_id);
        set(&link_input, "type", "text");
        set(&link_input, "inputmode", "numeric");
        set(&link_input, "autocomplete", "off");
        append(&field, &link_input);
        append(
            &field,
            &dom.button("fp-button", "Link order", Action::LinkOrder),
        );
        append(&link, &field);
        append(&dialog, &link);

        let notice = dom.el("p", "fp-notice fp-error");
        set(&notice, "role", "alert");
        append(&dialog, &notice);
        let footer = dom.el("footer", "fp-dialog-footer");
        let resync = dom.button("fp-button fp-primary", "Re-sync", Action::Resync);
        append(&footer, &resync);
        append(&footer, &dom.button("fp-button", "Close", Action::Close));
        append(&dialog, &footer);
        append(root, &dialog);

        let mut on_close = on_close;
        let on_close = EventListener::new(&dialog, "close", move |_| on_close());
        let mut detail = Self {
            row_id: id.to_owned(),
            carrier: row.and_then(|r| r.carrier.clone()),
            dialog,
            status,
            failure,
            checks,
            mapping,
            select: None,
            select_for: String::new(),
            select_version: String::new(),
            input,
            link,
            link_input,
            notice,
            resync,
            draft: None,
            draft_report: None,
            _on_close: on_close,
        };
        detail.render(dom, state);
        let _ = detail.dialog.show_modal();
        dom::focus(&detail.input);
        detail
    }

    /// The fulfillment shown.
    pub fn row_id(&self) -> &str {
        &self.row_id
    }

    /// The tracking number typed, when it differs from the fulfillment's.
    pub fn draft(&self) -> Option<&str> {
        self.draft.as_deref()
    }

    /// Forgets the draft: the fulfillment holds it now.
    pub fn clear_draft(&mut self) {
        self.draft = None;
        self.draft_report = None;
    }

    /// The TikTok Shop order id typed in the manual link, trimmed, when any.
    pub fn link_choice(&self) -> Option<String> {
        let id = self.link_input.value().trim().to_owned();
        (!id.is_empty()).then_some(id)
    }

    /// The mapping chosen: (Shopify carrier name, TikTok Shop provider name).
    pub fn mapping_choice(&self) -> Option<(String, String)> {
        let to = self.select.as_ref()?.value();
        if to.is_empty() {
            return None;
        }
        Some((self.carrier.clone()?, to))
    }

    /// Checks the typed tracking number with the engine, as the push would see it.
    pub fn set_draft(&mut self, state: &State, value: String, now: Timestamp) {
        let Some(row) = state.row(&self.row_id) else {
            return;
        };
        if value.trim() == row.tracking_number().unwrap_or("") {
            self.clear_draft();
            return;
        }
        self.draft_report = match (&state.validator, &row.input) {
            (Some(validator), Some(input)) => {
                let mut input = input.clone();
                let numbers = &mut input.fulfillment.tracking_numbers;
                match numbers.first_mut() {
                    Some(first) => first.clone_from(&value),
                    None => numbers.push(value.clone()),
                }
                Some(validator.validate(&input, now))
            }
            _ => None,
        };
        self.draft = Some(value);
    }

    /// Closes the dialog (its `close` event then removes it).
    pub fn close(&self) {
        self.dialog.close();
    }

    /// Takes the dialog out of the page.
    pub fn remove(&self) {
        self.dialog.remove();
    }

    /// Shows the row as it is now, and the draft's checks.
    pub fn render(&mut self, dom: &Dom, state: &State) {
        let now = state.now();
        let Some(row) = state.row(&self.row_id) else {
            return;
        };
        let report = self.draft_report.as_ref().or(row.report.as_ref());

        dom::clear(&self.status);
        match state.busy(&row.id) {
            Some(busy) => {
                let b = view::badge(dom, busy, model::Tone::Info);
                set(&b, "aria-busy", "true");
                append(&self.status, &b);
            }
            None => append(
                &self.status,
                &view::badge(dom, row.status.label(), row.status.tone()),
            ),
        }
        dom.append_text(&self.status, " ");
        let preview = report.map_or_else(|| row.preview(now), |r| model::preview_of(r, now));
        let (text, tone) = preview.badge();
        append(&self.status, &view::badge(dom, &text, tone));
        if self.draft.is_some() {
            append(
                &self.status,
                &dom.text_el(
                    "span",
                    "fp-hint",
                    " (with the tracking number you typed, not saved yet)",
                ),
            );
        }

        dom::clear(&self.failure);
        if let Some(failure) = row
            .failure
            .as_ref()
            .filter(|_| row.status == model::SyncStatus::SyncFailed)
        {
            append(&self.failure, &dom.text_el("h3", "", "Last sync failed"));
            problem(
                dom,
                &self.failure,
                &failure.code,
                &failure.reason,
                &failure.solution,
            );
        }

        dom::clear(&self.checks);
        if let Some(unreadable) = &row.unreadable {
            append(
                &self.checks,
                &dom.parts_el(
                    "p",
                    "fp-error",
                    &[
                        Part::Ours("This fulfillment cannot be checked: "),
                        Part::Theirs(unreadable),
                    ],
                ),
            );
        }
        if let Some(model::Writeback::Refused(message)) = &row.writeback {
            problem(
                dom,
                &self.checks,
                "shopify.user_errors",
                message,
                "TikTok Shop has the new number. Fix what Shopify reports, then Re-sync: only Shopify is updated.",
            );
        }
        if row.writeback == Some(model::Writeback::Pending) {
            append(
                &self.checks,
                &dom.text_el(
                    "p",
                    "fp-hint",
                    "TikTok Shop has the new number; Shopify is tried again until it takes it.",
                ),
            );
        }
        if report.is_none() && row.unreadable.is_none() {
            let _ = self.link.remove_attribute("hidden");
        } else {
            set(&self.link, "hidden", "");
        }
        match report {
            None if row.unreadable.is_none() => append(
                &self.checks,
                &dom.parts_el(
                    "p",
                    "fp-hint",
                    &[
                        Part::Ours("This fulfillment is linked to no TikTok Shop order yet, so there is nothing to check it against. "),
                        Part::Theirs(row.not_linked.as_deref().unwrap_or("")),
                        Part::Ours(" Enter the TikTok Shop order ID to link it."),
                    ],
                ),
            ),
            None => {}
            Some(report) => {
                let shown: Vec<_> = report
                    .diagnostics
                    .iter()
                    .filter(|d| d.severity != Severity::Info)
                    .collect();
                if shown.is_empty() {
                    append(
                        &self.checks,
                        &dom.text_el("p", "fp-ok", match report.verdict {
                            Verdict::InSync => "TikTok Shop already holds this fulfillment as it is.",
                            _ => "No problems: the push would succeed.",
                        }),
                    );
                }
                for d in shown {
                    let article = problem(dom, &self.checks, d.code.as_str(), d.reason, d.solution);
                    if let Some(data) = &d.data {
                        append(&article, &specifics(dom, data, now));
                    }
                }
                if let Some(deadline) = report.update_deadline {
                    append(
                        &self.checks,
                        &dom.text_el(
                            "p",
                            "fp-hint",
                            &format!(
                                "The tracking number can change once until {} ({}).",
                                model::time(deadline),
                                relative(deadline, now)
                            ),
                        ),
                    );
                }
            }
        }

        let carrier_error = report
            .and_then(|r| {
                r.diagnostics
                    .iter()
                    .find(|d| d.rule == Rule::Carrier && d.severity == Severity::Error)
            })
            .cloned();
        // A write-back Shopify refused is tried again by a sync, TikTok Shop already holding the fix.
        let refused = matches!(row.writeback, Some(model::Writeback::Refused(_)));
        let can_sync = state.busy(&row.id).is_none()
            && (refused || report.is_some_and(|r| r.verdict == Verdict::Ready));

        match state.notice(&row.id) {
            Some(notice) => {
                self.notice.set_text_content(Some(&notice.text));
                set(&self.notice, "data-code", &notice.code);
            }
            None => {
                self.notice.set_text_content(None);
                let _ = self.notice.remove_attribute("data-code");
            }
        }

        if can_sync {
            let _ = self.resync.remove_attribute("disabled");
        } else {
            set(&self.resync, "disabled", "");
        }
        self.resync
            .set_text_content(Some(match state.busy(&row.id) {
                Some(busy) => busy,
                None => "Re-sync",
            }));
        let option = row
            .input
            .as_ref()
            .and_then(|i| i.order.delivery_option_id.clone());
        self.render_mapping(dom, state, carrier_error.as_ref(), option.as_deref());
    }

    /// The mapping's choices: the closest providers, then those the order's delivery option offers.
    fn render_mapping(
        &mut self,
        dom: &Dom,
        state: &State,
        carrier_error: Option<&Diagnostic>,
        delivery_option: Option<&str>,
    ) {
        let carrier = self.carrier.clone();
        let (Some(diagnostic), Some(carrier)) = (carrier_error, carrier.as_deref()) else {
            dom::clear(&self.mapping);
            set(&self.mapping, "hidden", "");
            self.select = None;
            return;
        };
        // Kept once a choice is made in it, and while the shop's version stands (a reload may bring
        // the option's list); then listed again only when the providers it lists changed.
        let chosen = self.select.as_ref().is_some_and(|s| !s.value().is_empty());
        if self.select.is_some() && (chosen || self.select_version == state.version) {
            return;
        }
        self.select_version.clone_from(&state.version);
        let carriers = state.validator.as_ref().map(preflight::Validator::carriers);
        let listed: String = carriers
            .iter()
            .flat_map(|c| c.accepted_providers(delivery_option))
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        if self.select.is_some() && self.select_for == listed {
            return;
        }
        self.select_for = listed;
        let _ = self.mapping.remove_attribute("hidden");
        dom::clear(&self.mapping);
        let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let select_id = format!("fp-provider-{n}");
        let label = dom.parts_el(
            "label",
            "fp-label",
            &[
                Part::Ours("Map the carrier “"),
                Part::Theirs(carrier),
                Part::Ours("” to a TikTok Shop provider"),
            ],
        );
        set(&label, "for", &select_id);
        append(&self.mapping, &label);
        let field = dom.el("div", "fp-field");
        let select: HtmlSelectElement = dom.el("select", "fp-select").unchecked_into();
        set(&select, "id", &select_id);
        append(&select, &option(dom, "", "Choose a provider…"));
        let suggested: Vec<&str> = match &diagnostic.data {
            Some(Data::Carrier { suggestions, .. }) => {
                suggestions.iter().map(|p| p.name.as_str()).collect()
            }
            _ => Vec::new(),
        };
        if !suggested.is_empty() {
            let group = dom.el("optgroup", "");
            set(&group, "label", "Closest");
            for name in &suggested {
                append(&group, &option(dom, name, name));
            }
            append(&select, &group);
        }
        let group = dom.el("optgroup", "");
        let label = if carriers.is_some_and(|c| c.restricts(delivery_option)) {
            "Its delivery option's providers"
        } else {
            "All providers"
        };
        set(&group, "label", label);
        if let Some(carriers) = carriers {
            for provider in carriers.accepted_providers(delivery_option) {
                append(&group, &option(dom, &provider.name, &provider.name));
            }
        }
        append(&select, &group);
        append(&field, &select);
        append(
            &field,
            &dom.button("fp-button", "Save mapping", Action::SaveMapping),
        );
        append(&self.mapping, &field);
        append(
            &self.mapping,
            &dom.text_el(
                "p",
                "fp-hint",
                "Every fulfillment with this carrier name is checked again at once.",
            ),
        );
        self.select = Some(select);
    }
}

fn option(dom: &Dom, value: &str, text: &str) -> Element {
    let option = dom.text_el("option", "", text);
    set(&option, "value", value);
    option
}

/// A problem: its code, Reason and Solution.
fn problem(dom: &Dom, parent: &Element, code: &str, reason: &str, solution: &str) -> Element {
    let article = dom.el("article", "fp-problem");
    set(&article, "data-code", code);
    append(&article, &dom.text_el("p", "fp-code", code));
    let dl = dom.el("dl", "fp-texts");
    append(&dl, &dom.text_el("dt", "", "Reason"));
    append(&dl, &dom.text_el("dd", "fp-problem-reason", reason));
    append(&dl, &dom.text_el("dt", "", "Solution"));
    append(&dl, &dom.text_el("dd", "fp-problem-solution", solution));
    append(&article, &dl);
    append(parent, &article);
    article
}

/// The specifics of a diagnostic, as a list of facts.
fn specifics(dom: &Dom, data: &Data, now: Timestamp) -> Element {
    use Part::{Ours, Theirs};
    let dl = dom.el("dl", "fp-specifics");
    let fact = |term: &str, value: &[Part<'_>]| {
        append(&dl, &dom.text_el("dt", "", term));
        append(&dl, &dom.parts_el("dd", "", value));
    };
    match data {
        Data::Carrier {
            carrier,
            suggestions,
        } => {
            fact("Carrier name", &[Theirs(carrier)]);
            if !suggestions.is_empty() {
                let names: Vec<&str> = suggestions.iter().map(|p| p.name.as_str()).collect();
                fact("Suggested providers", &[Theirs(&names.join(", "))]);
            }
        }
        Data::Provider { provider } => fact("Provider", &[Theirs(&provider.name)]),
        Data::Tracking {
            tracking_number,
            carriers,
        } => {
            fact("Tracking number", &[Theirs(tracking_number)]);
            if !carriers.is_empty() {
                fact("Its format belongs to", &[Ours(&carriers.join(", "))]);
            }
        }
        Data::Window {
            shipped_at,
            deadline,
            updates_used,
            max_updates,
            current_tracking_number,
        } => {
            if let Some(shipped_at) = shipped_at {
                fact("Shipped", &[Ours(&model::time(*shipped_at))]);
            }
            if let Some(deadline) = deadline {
                let when = format!("{} ({})", model::time(*deadline), relative(*deadline, now));
                fact("Update deadline", &[Ours(&when)]);
            }
            fact(
                "Updates used",
                &[Ours(&format!("{updates_used} of {max_updates}"))],
            );
            if let Some(current) = current_tracking_number {
                fact("TikTok Shop holds", &[Theirs(current)]);
            }
        }
        Data::Packages { packages } => {
            for package in packages {
                let number = package
                    .tracking_number
                    .as_deref()
                    .map_or(Ours("none"), Theirs);
                fact(
                    "Conflicting package",
                    &[
                        Theirs(&package.package_id),
                        Ours(", tracking number "),
                        number,
                    ],
                );
            }
        }
        Data::Item {
            sku,
            requested,
            remaining,
        } => fact(
            "Item",
            &[
                Theirs(sku),
                Ours(&format!(": {requested} asked, {remaining} left to ship")),
            ],
        ),
        Data::Status { status } => fact("Status", &[Theirs(status)]),
        Data::Deadline { deadline } => {
            let when = format!("{} ({})", model::time(*deadline), relative(*deadline, now));
            fact("Deadline", &[Ours(&when)]);
        }
        Data::Cleaned {
            tracking_number,
            cleaned,
        } => {
            fact("Tracking number", &[Theirs(tracking_number)]);
            if let Some(cleaned) = cleaned {
                fact("Cleaned", &[Theirs(cleaned)]);
            }
        }
        Data::PlatformRule { from, source, .. } => {
            match from {
                Some(from) => fact("In force since", &[Ours(&model::time(*from))]),
                None => fact("In force", &[Ours("for this shop, by its settings")]),
            }
            if let Some(source) = source {
                fact("Source", &[Ours(source)]);
            }
        }
    }
    dl
}

/// `in 5 h 12 min` or `3 h ago`.
fn relative(at: Timestamp, now: Timestamp) -> String {
    let seconds = at.unix_seconds().saturating_sub(now.unix_seconds());
    if seconds >= 0 {
        format!("in {}", model::duration(seconds))
    } else {
        format!("{} ago", model::duration(seconds.saturating_neg()))
    }
}
