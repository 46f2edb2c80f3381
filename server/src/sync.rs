//! The push to TikTok Shop, at most once: re-validate natively with TikTok Shop's current order, then
//! ship or update through a durable state machine (`pending` → `sending`, committed before the call,
//! → `sent` | `unknown` | `failed`). An `unknown` push is never sent blindly: the next sync reads the
//! package at TikTok Shop first, and what it finds decides: `sent`, send again, or `needs_review`.

use std::sync::Arc;

use preflight::json::ToJson;
use preflight::model::read::Read;
use preflight::model::{Fulfillment, History, Input, TtsOrder};
use preflight::{Action, Report, Timestamp, Validator, Verdict};
use serde_json::{json, Value};

use crate::delivery_options::{self, ShopSettings};
use crate::error::ApiError;
use crate::state::{tiktok_context, AppState};
use crate::store::{
    Answer, FulfillmentPatch, FulfillmentRecord, HeldFix, PushRecord, PushState, PushTransition,
    StoredResponse, SyncFailure, SyncStatus, WritebackState,
};
use crate::tts::{MarkPackageShippedRequest, ShopContext, TtsError, UpdateShippingInfoRequest};
use crate::wire::fulfillment_json;
use crate::writeback;
use axum::http::StatusCode;

/// What a sync answers: an HTTP status and a JSON body.
pub type Outcome = (StatusCode, Value);

/// The idempotency key a sync runs under, and its request's fingerprint.
#[derive(Clone, Copy, Debug)]
pub struct Idempotency<'a> {
    /// The `Idempotency-Key`.
    pub key: &'a str,
    /// The request's fingerprint.
    pub fingerprint: &'a str,
}

/// A sync's answer, and whether it is already stored under the idempotency key (a push's outcome and
/// its answer commit together).
pub type Synced = (Outcome, bool);

/// The plan of a push: the report's plan, with the provider and tracking number a push needs. Stored
/// with the push in the engine's own form of a plan (its writer and reader).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Plan {
    action: Action,
    package_id: Option<String>,
    line_item_ids: Vec<String>,
    shipping_provider_id: String,
    tracking_number: String,
}

impl Plan {
    fn of(report: &Report) -> Option<Self> {
        Self::from_engine(report.plan.clone())
    }

    fn from_engine(plan: preflight::Plan) -> Option<Self> {
        Some(Self {
            action: plan.action,
            package_id: plan.package_id,
            line_item_ids: plan.line_item_ids,
            shipping_provider_id: plan.shipping_provider_id?,
            tracking_number: plan.tracking_number?,
        })
    }

    fn is_ship(&self) -> bool {
        self.action == Action::Ship
    }

    fn to_json(&self) -> String {
        preflight::Plan {
            action: self.action,
            package_id: self.package_id.clone(),
            line_item_ids: self.line_item_ids.clone(),
            shipping_provider_id: Some(self.shipping_provider_id.clone()),
            shipping_provider_name: None,
            tracking_number: Some(self.tracking_number.clone()),
        }
        .to_json()
    }

    fn from_json(text: &str) -> Option<Self> {
        Self::from_engine(preflight::from_json(text).ok()?)
    }
}

fn read<T: Read>(text: &str) -> Result<T, ApiError> {
    Ok(preflight::from_json::<T>(text)?)
}

fn history_of(record: &FulfillmentRecord) -> Result<Option<History>, ApiError> {
    record
        .history_json
        .as_deref()
        .map(read::<History>)
        .transpose()
}

/// The id of the TikTok Shop order a fulfillment is linked to, read on the engine pool.
async fn order_id_of(state: &AppState, record: &FulfillmentRecord) -> Result<String, ApiError> {
    let text = record.tts_order_json.clone().ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "sync.order_unlinked",
            "the fulfillment is linked to no TikTok Shop order yet",
        )
    })?;
    state
        .engine
        .run(move || Ok(read::<TtsOrder>(&text)?.id))
        .await?
}

fn tts_failure(error: &TtsError) -> SyncFailure {
    SyncFailure {
        code: error
            .code()
            .map_or_else(|| "tts.unreachable".to_owned(), |c| c.to_string()),
        reason: error.to_string(),
        solution: "Fix what TikTok Shop reports, then sync again.".into(),
    }
}

fn tts_error(error: &TtsError) -> ApiError {
    ApiError::new(StatusCode::BAD_GATEWAY, "tts.error", error.to_string())
}

/// Links a fulfillment to its TikTok Shop order by the merchant's hand: reads the order at TikTok
/// Shop, keeps it with a manual link (which the resolver chain never replaces), and stores the
/// preview report.
///
/// # Errors
/// 404 for an unknown fulfillment or order; 502 when TikTok Shop fails.
pub async fn link_order(
    state: &Arc<AppState>,
    shop: &str,
    fulfillment_id: &str,
    order_id: &str,
) -> Result<FulfillmentRecord, ApiError> {
    let order = fetch_order(state, shop, order_id).await?;
    attach_order(
        state,
        shop,
        fulfillment_id,
        order,
        link_json("manual", order_id),
    )
    .await
}

/// `{"state": "linked", "source": …, "orderId": …}`: how a fulfillment was linked.
#[must_use]
pub fn link_json(source: &str, order_id: &str) -> String {
    json!({ "state": "linked", "source": source, "orderId": order_id }).to_string()
}

/// Keeps a TikTok Shop order (its JSON as read) as the fulfillment's, with how it was linked, and
/// stores the preview report on it.
///
/// # Errors
/// 404 for an unknown fulfillment; 400 when the engine cannot read the payloads.
pub async fn attach_order(
    state: &Arc<AppState>,
    shop: &str,
    fulfillment_id: &str,
    order_json: String,
    link: String,
) -> Result<FulfillmentRecord, ApiError> {
    let record = load(state, shop, fulfillment_id).await?;
    keep_order(state, shop, &record, order_json, Some(link)).await
}

/// Stores an order (its JSON as read) as the fulfillment's, with the preview on it and, when given,
/// how it was linked.
async fn keep_order(
    state: &Arc<AppState>,
    shop: &str,
    record: &FulfillmentRecord,
    order_json: String,
    link: Option<String>,
) -> Result<FulfillmentRecord, ApiError> {
    let source = ValidatorSource::for_order(state, shop, &order_json).await?;
    let checked = check(state, source, record, &order_json, history_of(record)?).await?;
    let patch = FulfillmentPatch {
        tts_order_json: Some(order_json),
        report_json: Some(checked.json),
        link_json: link,
        ..FulfillmentPatch::default()
    };
    save(state, shop, &record.fulfillment_id, patch).await
}

/// Reads a linked fulfillment's TikTok Shop order again and stores it with the preview on it (TikTok
/// Shop said the order changed). An unlinked fulfillment is left as it is.
///
/// # Errors
/// 404 for an unknown fulfillment or order; 502 when TikTok Shop fails.
pub async fn reread_order(
    state: &Arc<AppState>,
    shop: &str,
    fulfillment_id: &str,
) -> Result<(), ApiError> {
    let record = load(state, shop, fulfillment_id).await?;
    if record.tts_order_json.is_none() {
        return Ok(());
    }
    let order_id = order_id_of(state, &record).await?;
    let order = fetch_order(state, shop, &order_id).await?;
    keep_order(state, shop, &record, order, None)
        .await
        .map(|_| ())
}

/// Recomputes the stored preview report of a fulfillment linked to an order, with the order as last
/// read (no call to TikTok Shop): after a webhook changed the fulfillment.
///
/// # Errors
/// 404 for an unknown fulfillment; 400 when the engine cannot read the stored payloads.
pub async fn refresh_preview(
    state: &Arc<AppState>,
    shop: &str,
    fulfillment_id: &str,
) -> Result<(), ApiError> {
    let record = load(state, shop, fulfillment_id).await?;
    let Some(order) = record.tts_order_json.as_deref() else {
        return Ok(());
    };
    let source = ValidatorSource::of_shop(state, shop).await?;
    let checked = check(state, source, &record, order, history_of(&record)?).await?;
    let patch = FulfillmentPatch {
        report_json: Some(checked.json),
        ..FulfillmentPatch::default()
    };
    save(state, shop, fulfillment_id, patch).await.map(|_| ())
}

/// Sets a fulfillment's tracking number in its stored Shopify payload (see
/// [`with_tracking_number`]) and, when it is linked to an order, recomputes its preview with the order
/// as last read, in one write.
///
/// # Errors
/// 404 for an unknown fulfillment; 409 `sync.in_progress` while a push of it is `pending` or
/// `sending`; 400 when the engine cannot read the payload.
pub async fn set_tracking_number(
    state: &Arc<AppState>,
    shop: &str,
    fulfillment_id: &str,
    tracking_number: &str,
) -> Result<FulfillmentRecord, ApiError> {
    let mut record = load(state, shop, fulfillment_id).await?;
    let open = state.store.open_push(shop, fulfillment_id).await?;
    if open.is_some_and(|p| matches!(p.state, PushState::Pending | PushState::Sending)) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "sync.in_progress",
            "a push of this fulfillment is under way",
        ));
    }
    let history = history_of(&record)?;
    let source = match record.tts_order_json {
        Some(_) => Some(ValidatorSource::of_shop(state, shop).await?),
        None => None,
    };
    let (stored, order, number) = (
        std::mem::take(&mut record.shopify_json),
        record.tts_order_json.clone(),
        tracking_number.to_owned(),
    );
    let clock = state.clock.clone();
    let (payload, report, company, before) = state
        .engine
        .run(move || -> Result<_, ApiError> {
            let before = read::<Fulfillment>(&stored)?
                .tracking_numbers
                .into_iter()
                .next();
            let payload = with_tracking_number(&stored, &number)?;
            let fulfillment = read::<Fulfillment>(&payload)?;
            let company = fulfillment.tracking_company.clone();
            let report = match (source, order) {
                (Some(source), Some(order)) => {
                    let now = Timestamp::from_unix_millis(clock.now_millis());
                    Some(checked(source.validator()?, fulfillment, &order, history, now)?.json)
                }
                _ => None,
            };
            Ok((payload, report, company, before))
        })
        .await??;
    // Shopify is told once TikTok Shop has the fix; a fix of a fix still replaces Shopify's number.
    let replaces = match &record.writeback {
        Some(w) if w.state == WritebackState::Held => w.replaces.clone(),
        _ => before,
    };
    let hold = state.shopify_admin.is_some().then(|| HeldFix {
        company,
        number: tracking_number.to_owned(),
        replaces,
    });
    let patch = FulfillmentPatch {
        shopify_json: Some(payload),
        report_json: report,
        hold_writeback: hold,
        ..FulfillmentPatch::default()
    };
    save(state, shop, fulfillment_id, patch).await
}

/// A Shopify fulfillment's JSON with `tracking_number` as its one tracking number. The REST/webhook
/// shape gets `tracking_number` and `tracking_numbers: [n]`, keeping `tracking_company`; the GraphQL
/// shape (with `trackingInfo`, `fulfillmentLineItems` or `createdAt`) gets `trackingInfo[0].number`,
/// the entry created when missing. Tracking URLs, which named the old number, are removed.
///
/// # Errors
/// 400 `input.invalid_type` when the payload is not a JSON object.
pub fn with_tracking_number(shopify_json: &str, tracking_number: &str) -> Result<String, ApiError> {
    let not_object = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "input.invalid_type",
            "the stored fulfillment is not a JSON object",
        )
    };
    let mut value: Value = serde_json::from_str(shopify_json).map_err(|_| not_object())?;
    let fulfillment = value.as_object_mut().ok_or_else(not_object)?;
    let graphql = ["trackingInfo", "fulfillmentLineItems", "createdAt"]
        .iter()
        .any(|key| fulfillment.contains_key(*key));
    let number = Value::String(tracking_number.to_owned());
    if graphql {
        let info = fulfillment
            .entry("trackingInfo")
            .or_insert_with(|| Value::Array(Vec::new()));
        if !info.is_array() {
            *info = Value::Array(Vec::new());
        }
        if let Some(list) = info.as_array_mut() {
            match list.first_mut().and_then(Value::as_object_mut) {
                Some(first) => {
                    first.insert("number".into(), number);
                    first.remove("url");
                }
                None => {
                    let entry = json!({ "number": number });
                    match list.first_mut() {
                        Some(slot) => *slot = entry,
                        None => list.push(entry),
                    }
                }
            }
        }
    } else {
        fulfillment.insert("tracking_number".into(), number.clone());
        fulfillment.insert("tracking_numbers".into(), Value::Array(vec![number]));
        fulfillment.remove("tracking_url");
        fulfillment.remove("tracking_urls");
    }
    Ok(value.to_string())
}

async fn load(
    state: &Arc<AppState>,
    shop: &str,
    fulfillment_id: &str,
) -> Result<FulfillmentRecord, ApiError> {
    state
        .store
        .fulfillment(shop, fulfillment_id)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such fulfillment"))
}

async fn save(
    state: &Arc<AppState>,
    shop: &str,
    fulfillment_id: &str,
    patch: FulfillmentPatch,
) -> Result<FulfillmentRecord, ApiError> {
    Ok(state
        .store
        .update_fulfillment(shop, fulfillment_id, &patch)
        .await?)
}

async fn transition(
    state: &Arc<AppState>,
    shop: &str,
    push: &PushRecord,
    transition: PushTransition,
) -> Result<PushRecord, ApiError> {
    // Only the attempt this caller read.
    let transition = transition.at_attempt(push.attempts);
    Ok(state
        .store
        .transition_push(shop, push.id, &transition)
        .await?)
}

/// The order's JSON as TikTok Shop holds it now.
async fn fetch_order(
    state: &Arc<AppState>,
    shop: &str,
    order_id: &str,
) -> Result<String, ApiError> {
    let orders = state
        .tts
        .get_order_detail(&tiktok_context(state, shop).await?, &[order_id.to_owned()])
        .await
        .map_err(|e| tts_error(&e))?;
    let order = orders
        .into_iter()
        .find(|o| o.id == order_id)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "sync.order_not_found",
                format!("tiktok shop has no order `{order_id}`"),
            )
        })?;
    serde_json::to_string(&order)
        .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, "tts.error", e.to_string()))
}

/// The validator a check runs with: one built already, or the shop's settings, to build it from on
/// the engine pool.
enum ValidatorSource {
    Built(Box<Validator>),
    Settings(ShopSettings),
}

impl ValidatorSource {
    /// The shop's settings, with the providers of the delivery option of `order_json`, an order just
    /// read at TikTok Shop (its option's providers listed there first when unknown or old).
    async fn for_order(
        state: &Arc<AppState>,
        shop: &str,
        order_json: &str,
    ) -> Result<Self, ApiError> {
        let settings = delivery_options::shop_settings(state, shop).await?;
        if delivery_options::refresh_for(state, shop, order_json, &settings).await {
            return Self::of_shop(state, shop).await;
        }
        Ok(Self::Settings(settings))
    }

    /// The shop's settings, with the delivery options' providers as kept: no call to TikTok Shop.
    async fn of_shop(state: &AppState, shop: &str) -> Result<Self, ApiError> {
        Ok(Self::Settings(
            delivery_options::shop_settings(state, shop).await?,
        ))
    }

    /// The validator. Engine work: run it on the engine pool.
    fn validator(self) -> Result<Validator, ApiError> {
        match self {
            Self::Built(validator) => Ok(*validator),
            Self::Settings(settings) => Ok(Validator::new(settings.read()?)?),
        }
    }
}

/// What the engine made of a fulfillment: the validator it ran with, the report and its JSON.
struct Checked {
    validator: Validator,
    report: Report,
    json: String,
}

/// The engine's report on the stored fulfillment, the given order and history, now: the payloads
/// read, validated and the report written on the engine pool.
async fn check(
    state: &AppState,
    source: ValidatorSource,
    record: &FulfillmentRecord,
    order_json: &str,
    history: Option<History>,
) -> Result<Checked, ApiError> {
    let (fulfillment, order) = (record.shopify_json.clone(), order_json.to_owned());
    let clock = state.clock.clone();
    state
        .engine
        .run(move || {
            let fulfillment = read::<Fulfillment>(&fulfillment)?;
            let now = Timestamp::from_unix_millis(clock.now_millis());
            checked(source.validator()?, fulfillment, &order, history, now)
        })
        .await?
}

/// The report of `validator` on a fulfillment, the order's JSON and history, at `now`. Engine work:
/// run it on the engine pool.
fn checked(
    validator: Validator,
    fulfillment: Fulfillment,
    order_json: &str,
    history: Option<History>,
    now: Timestamp,
) -> Result<Checked, ApiError> {
    let input = Input {
        fulfillment,
        order: read::<TtsOrder>(order_json)?,
        history,
        // Get Tracking Validation is not asked yet.
        tracking_validation: None,
    };
    let report = validator.validate(&input, now);
    let json = report.to_json();
    Ok(Checked {
        validator,
        report,
        json,
    })
}

/// Syncs one fulfillment: see the module's documentation.
///
/// # Errors
/// 404 for an unknown fulfillment, 422 when it is linked to no order, 409 while a push needs the
/// merchant's review, 502 when TikTok Shop cannot be read.
pub async fn sync(
    state: &Arc<AppState>,
    shop: &str,
    fulfillment_id: &str,
    idempotency: &Idempotency<'_>,
) -> Result<Synced, ApiError> {
    let record = load(state, shop, fulfillment_id).await?;
    let order_id = order_id_of(state, &record).await?;

    let mut open = state.store.open_push(shop, fulfillment_id).await?;
    if let Some(push) = open.take_if(|p| abandoned(state, p)) {
        // Left by a request that died (its instance killed): whether TikTok Shop applied it is
        // unknown.
        open = Some(
            transition(
                state,
                shop,
                &push,
                PushTransition::new(PushState::Sending, PushState::Unknown),
            )
            .await?,
        );
    }
    let mut resend = None;
    if let Some(push) = open {
        match push.state {
            PushState::Unknown => match reconcile(state, shop, &record, &order_id, &push).await? {
                Reconciled::Sent => {
                    return unstored(answer(state, shop, fulfillment_id, StatusCode::OK).await)
                }
                Reconciled::NeedsReview => {
                    return unstored(
                        answer(state, shop, fulfillment_id, StatusCode::CONFLICT).await,
                    )
                }
                Reconciled::Resend(plan) => resend = Some((push, plan)),
            },
            PushState::NeedsReview => {
                return unstored(answer(state, shop, fulfillment_id, StatusCode::CONFLICT).await)
            }
            PushState::Pending => {
                // Planned by a request that died before sending: surely not applied.
                let failed = PushTransition {
                    failure: Some(SyncFailure {
                        code: "sync.abandoned".into(),
                        reason: "A push was planned but never sent.".into(),
                        solution: "Sync again.".into(),
                    }),
                    ..PushTransition::new(PushState::Pending, PushState::Failed)
                };
                transition(state, shop, &push, failed).await?;
            }
            PushState::Sending => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "sync.in_progress",
                    "a push of this fulfillment is under way",
                ))
            }
            PushState::Sent | PushState::Failed => {}
        }
    }

    if let Some((push, plan)) = resend {
        // Everything the call needs first: from `sending` on, only the call itself.
        let history = history_of(&record)?;
        let source = ValidatorSource::of_shop(state, shop).await?;
        let validator = state.engine.run(move || source.validator()).await??;
        let ctx = tiktok_context(state, shop).await?;
        let push = transition(
            state,
            shop,
            &push,
            PushTransition::new(PushState::Unknown, PushState::Sending),
        )
        .await?;
        let sending = Sending {
            record: &record,
            order_id: &order_id,
            validator,
            push,
            plan,
            history,
            ctx,
            deadline: tokio::time::Instant::now() + state.push_timeout,
        };
        return send(state, shop, sending, idempotency).await;
    }

    // Re-validate with TikTok Shop's order as it is now, never the browser's verdict.
    let order = fetch_order(state, shop, &order_id).await?;
    let history = history_of(&record)?;
    let source = ValidatorSource::for_order(state, shop, &order).await?;
    let Checked {
        validator,
        report,
        json: report_json,
    } = check(state, source, &record, &order, history.clone()).await?;
    let mut patch = FulfillmentPatch {
        tts_order_json: Some(order),
        report_json: Some(report_json.clone()),
        ..FulfillmentPatch::default()
    };
    match report.verdict {
        Verdict::Blocked => {
            save(state, shop, fulfillment_id, patch).await?;
            let first = report.diagnostics.first();
            return Ok((
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({
                        "error": {
                            "code": "sync.blocked",
                            "message": first.map_or("the push would fail", |d| d.reason),
                        },
                        "report": serde_json::from_str::<Value>(&report_json).unwrap_or(Value::Null),
                    }),
                ),
                false,
            ));
        }
        Verdict::InSync => {
            patch.sync_status = Some(SyncStatus::Synced);
            save(state, shop, fulfillment_id, patch).await?;
            // TikTok Shop has it already: a fix held or refused goes to Shopify now.
            if let Some(number) = report.plan.tracking_number.as_deref() {
                writeback::release(state, shop, fulfillment_id, number).await;
            }
            return unstored(answer(state, shop, fulfillment_id, StatusCode::OK).await);
        }
        Verdict::Ready => {}
    }
    let plan = Plan::of(&report).ok_or_else(|| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "sync.no_plan",
            "a ready report without a plan",
        )
    })?;
    // Everything the call needs first: from `sending` on, only the call itself.
    let ctx = tiktok_context(state, shop).await?;
    // The order, the report and the push in `sending`, committed together before the call: a crash
    // from here on leaves `sending`, read back as `unknown`.
    let push = state
        .store
        .start_push(
            shop,
            fulfillment_id,
            &patch,
            &plan.to_json(),
            Some(idempotency.key),
        )
        .await?;
    let sending = Sending {
        record: &record,
        order_id: &order_id,
        validator,
        push,
        plan,
        history,
        ctx,
        deadline: tokio::time::Instant::now() + state.push_timeout,
    };
    send(state, shop, sending, idempotency).await
}

/// A push in `sending`, with what it was planned from.
struct Sending<'a> {
    record: &'a FulfillmentRecord,
    order_id: &'a str,
    /// The shop's validator, for the preview once the push applied.
    validator: Validator,
    push: PushRecord,
    plan: Plan,
    history: Option<History>,
    /// The shop's TikTok Shop context, read before the push went to `sending`.
    ctx: ShopContext,
    /// The push timeout from the commit of `sending`: the call ends by then, so that a push
    /// `sending` twice as long surely has no request behind it ([`AppState::abandoned_after`]).
    deadline: tokio::time::Instant,
}

/// Calls TikTok Shop for a push in `sending` and records the outcome.
async fn send(
    state: &Arc<AppState>,
    shop: &str,
    sending: Sending<'_>,
    idempotency: &Idempotency<'_>,
) -> Result<Synced, ApiError> {
    let Sending {
        record,
        order_id,
        validator,
        push,
        plan,
        history,
        ctx,
        deadline,
    } = sending;
    if tokio::time::Instant::now() >= deadline {
        // Past its deadline before it left (a stalled process): surely not sent.
        let failed = PushTransition {
            failure: Some(SyncFailure {
                code: "sync.not_sent".into(),
                reason: "The push could not leave within its time.".into(),
                solution: "Sync again.".into(),
            }),
            ..PushTransition::new(PushState::Sending, PushState::Failed)
        };
        return finish(state, shop, &push, failed, idempotency, StatusCode::OK).await;
    }
    let call = async {
        if plan.is_ship() {
            state
                .tts
                .mark_package_shipped(
                    &ctx,
                    order_id,
                    &MarkPackageShippedRequest {
                        order_line_item_ids: plan.line_item_ids.clone(),
                        tracking_number: plan.tracking_number.clone(),
                        shipping_provider_id: plan.shipping_provider_id.clone(),
                    },
                )
                .await
                .map(|data| data.package_id)
        } else {
            let package_id = plan.package_id.clone().unwrap_or_default();
            state
                .tts
                .update_package_shipping_info(
                    &ctx,
                    &package_id,
                    &UpdateShippingInfoRequest {
                        tracking_number: plan.tracking_number.clone(),
                        shipping_provider_id: plan.shipping_provider_id.clone(),
                    },
                )
                .await
                .map(|()| package_id)
        }
    };
    let result = tokio::time::timeout_at(deadline, call)
        .await
        .unwrap_or_else(|_| {
            Err(TtsError::Unknown(
                "no answer within the push's timeout".into(),
            ))
        });
    match result {
        Ok(package_id) => {
            let history = pushed_history(&plan, &package_id, history.as_ref(), state.now());
            // The order as TikTok Shop holds it now, and the preview on it, kept with the outcome: the
            // order read before the push no longer says what the package holds. When it cannot be
            // read, the next sync reads it anyway.
            let order = fetch_order(state, shop, order_id).await.ok();
            let report = match order.as_deref() {
                Some(order) => check(
                    state,
                    ValidatorSource::Built(Box::new(validator)),
                    record,
                    order,
                    Some(history.clone()),
                )
                .await
                .ok()
                .map(|checked| checked.json),
                None => None,
            };
            let sent = PushTransition {
                history_json: Some(history.to_json()),
                tts_order_json: order,
                report_json: report,
                writeback_number: Some(plan.tracking_number.clone()),
                ..PushTransition::new(PushState::Sending, PushState::Sent)
            };
            let synced = finish(state, shop, &push, sent, idempotency, StatusCode::OK).await?;
            // The fix reached TikTok Shop: Shopify is told now (and retried until it agrees).
            Ok(
                match writeback::after_push(state, shop, &push.fulfillment_id).await {
                    Some(answer) => (answer, synced.1),
                    None => synced,
                },
            )
        }
        Err(error) if error.may_have_applied() => {
            tracing::warn!(shop, fulfillment_id = push.fulfillment_id, %error, "push outcome unknown");
            let unknown = PushTransition {
                response_json: Some(json!({ "error": error.to_string() }).to_string()),
                ..PushTransition::new(PushState::Sending, PushState::Unknown)
            };
            finish(
                state,
                shop,
                &push,
                unknown,
                idempotency,
                StatusCode::ACCEPTED,
            )
            .await
        }
        Err(error) => {
            let failed = PushTransition {
                response_json: Some(json!({ "error": error.to_string() }).to_string()),
                failure: Some(tts_failure(&error)),
                ..PushTransition::new(PushState::Sending, PushState::Failed)
            };
            finish(state, shop, &push, failed, idempotency, StatusCode::OK).await
        }
    }
}

/// An answer not stored yet: the caller stores it under the idempotency key.
fn unstored(outcome: Result<Outcome, ApiError>) -> Result<Synced, ApiError> {
    outcome.map(|o| (o, false))
}

/// Records a push's outcome and, in the same commit, the answer under the idempotency key.
async fn finish(
    state: &Arc<AppState>,
    shop: &str,
    push: &PushRecord,
    transition: PushTransition,
    idempotency: &Idempotency<'_>,
    status: StatusCode,
) -> Result<Synced, ApiError> {
    // Only the attempt this request sent: one taken for abandoned and sent again is another's.
    let transition = transition.at_attempt(push.attempts);
    let answer: Answer = Arc::new(move |record| StoredResponse {
        status: status.as_u16(),
        body: fulfillment_json(record).to_string(),
    });
    let stored = state
        .store
        .finish_push(
            shop,
            push.id,
            &transition,
            idempotency.key,
            idempotency.fingerprint,
            answer,
        )
        .await?;
    let body = serde_json::from_str(&stored.body).unwrap_or(Value::Null);
    Ok(((status, body), true))
}

/// The history after a push applied.
fn pushed_history(
    plan: &Plan,
    package_id: &str,
    before: Option<&History>,
    now: Timestamp,
) -> History {
    if plan.is_ship() {
        History {
            package_id: Some(package_id.to_owned()),
            shipping_provider_id: Some(plan.shipping_provider_id.clone()),
            tracking_number: Some(plan.tracking_number.clone()),
            shipped_at: Some(now),
            tracking_updates_used: 0,
        }
    } else {
        History {
            package_id: Some(package_id.to_owned()),
            shipping_provider_id: Some(plan.shipping_provider_id.clone()),
            tracking_number: Some(plan.tracking_number.clone()),
            shipped_at: before.and_then(|h| h.shipped_at),
            tracking_updates_used: before.map_or(0, |h| h.tracking_updates_used) + 1,
        }
    }
}

/// Whether `push` is `sending` past [`AppState::abandoned_after`]: its request died, since every push
/// is sent under its fulfillment's lock within the push timeout. A younger one may still have its
/// request behind it (on another instance whose hold on the fulfillment was lost with its database
/// connection).
fn abandoned(state: &AppState, push: &PushRecord) -> bool {
    let since = push.sending_at.unwrap_or(push.updated_at);
    let age = state.clock.now_millis() - since.unix_millis();
    let limit = crate::store::millis(state.abandoned_after());
    push.state == PushState::Sending && age >= limit
}

/// Settles push `push_id` of the fulfillment when it is still open and no request works on it: one
/// `pending`, or `sending` past [`AppState::abandoned_after`], was left by a request that died and
/// becomes `failed` or `unknown`; an `unknown` one is reconciled with what TikTok Shop holds: `sent`
/// when it holds the push, `needs_review` when it holds something else, and `failed`
/// (`sync.not_applied`) when it holds nothing of it, so that the merchant's next sync checks the order
/// again. Never pushes. The caller holds the fulfillment's lock. Answers the state it left the push
/// in, or `None` when there was nothing to settle.
///
/// # Errors
/// The store's; 502 when TikTok Shop cannot be read (the push stays `unknown`).
pub async fn settle(
    state: &Arc<AppState>,
    shop: &str,
    fulfillment_id: &str,
    push_id: i64,
) -> Result<Option<PushState>, ApiError> {
    let Some(mut push) = state
        .store
        .open_push(shop, fulfillment_id)
        .await?
        .filter(|p| p.id == push_id)
    else {
        return Ok(None);
    };
    // Unchanged for as long as at its claim: one a sync touched since (it may have sent it again)
    // is left to a later claim.
    let age = state.clock.now_millis() - push.updated_at.unix_millis();
    if age < crate::store::millis(state.abandoned_after()) {
        return Ok(None);
    }
    match push.state {
        PushState::Pending => {
            let failed = PushTransition {
                failure: Some(SyncFailure {
                    code: "sync.abandoned".into(),
                    reason: "A push was planned but never sent.".into(),
                    solution: "Sync again.".into(),
                }),
                ..PushTransition::new(PushState::Pending, PushState::Failed)
            };
            return Ok(Some(transition(state, shop, &push, failed).await?.state));
        }
        PushState::Sending if abandoned(state, &push) => {
            let unknown = PushTransition::new(PushState::Sending, PushState::Unknown);
            push = transition(state, shop, &push, unknown).await?;
        }
        PushState::Unknown => {}
        PushState::Sending | PushState::NeedsReview | PushState::Sent | PushState::Failed => {
            return Ok(None)
        }
    }
    let record = load(state, shop, fulfillment_id).await?;
    let order_id = order_id_of(state, &record).await?;
    let settled = match reconcile(state, shop, &record, &order_id, &push).await? {
        Reconciled::Sent => PushState::Sent,
        Reconciled::NeedsReview => PushState::NeedsReview,
        Reconciled::Resend(_) => {
            let failed = PushTransition {
                failure: Some(SyncFailure {
                    code: "sync.not_applied".into(),
                    reason: "The push was interrupted, and TikTok Shop does not hold it.".into(),
                    solution: "Sync again.".into(),
                }),
                ..PushTransition::new(PushState::Unknown, PushState::Failed)
            };
            transition(state, shop, &push, failed).await?.state
        }
    };
    Ok(Some(settled))
}

enum Reconciled {
    Sent,
    NeedsReview,
    Resend(Plan),
}

/// Reads TikTok Shop's state for an `unknown` push and settles it.
async fn reconcile(
    state: &Arc<AppState>,
    shop: &str,
    record: &FulfillmentRecord,
    order_id: &str,
    push: &PushRecord,
) -> Result<Reconciled, ApiError> {
    let review = |reason: &str| {
        PushTransition {
        failure: Some(SyncFailure {
            code: "sync.needs_review".into(),
            reason: reason.to_owned(),
            solution: "Check the package in TikTok Shop Seller Center; if it is wrong, contact TikTok Shop support.".into(),
        }),
        ..PushTransition::new(PushState::Unknown, PushState::NeedsReview)
    }
    };
    let Some(plan) = Plan::from_json(&push.plan_json) else {
        transition(state, shop, push, review("The push's plan cannot be read.")).await?;
        return Ok(Reconciled::NeedsReview);
    };
    let ctx = tiktok_context(state, shop).await?;
    let history = history_of(record)?;
    // What TikTok Shop holds where we meant to push.
    let (package_id, tracking, provider) = if plan.is_ship() {
        let orders = state
            .tts
            .get_order_detail(&ctx, &[order_id.to_owned()])
            .await
            .map_err(|e| tts_error(&e))?;
        let order = orders.into_iter().find(|o| o.id == order_id);
        let units: Vec<_> = order
            .map(|o| o.line_items)
            .unwrap_or_default()
            .into_iter()
            .filter(|u| plan.line_item_ids.contains(&u.id))
            .collect();
        let shipped = units
            .iter()
            .find(|u| u.package_id.as_deref().is_some_and(|p| !p.is_empty()));
        match shipped {
            None => return Ok(Reconciled::Resend(plan)),
            Some(unit) => (
                unit.package_id.clone().unwrap_or_default(),
                unit.tracking_number.clone().unwrap_or_default(),
                unit.shipping_provider_id.clone().unwrap_or_default(),
            ),
        }
    } else {
        let package_id = plan.package_id.clone().unwrap_or_default();
        let detail = state
            .tts
            .get_package_detail(&ctx, &package_id)
            .await
            .map_err(|e| tts_error(&e))?;
        let before = history.as_ref().and_then(|h| h.tracking_number.clone());
        if Some(&detail.tracking_number) == before.as_ref() {
            return Ok(Reconciled::Resend(plan));
        }
        (
            package_id,
            detail.tracking_number,
            detail.shipping_provider_id,
        )
    };
    if tracking.eq_ignore_ascii_case(&plan.tracking_number) && provider == plan.shipping_provider_id
    {
        let history = pushed_history(&plan, &package_id, history.as_ref(), state.now());
        let sent = PushTransition {
            history_json: Some(history.to_json()),
            writeback_number: Some(plan.tracking_number.clone()),
            ..PushTransition::new(PushState::Unknown, PushState::Sent)
        };
        transition(state, shop, push, sent).await?;
        writeback::after_push(state, shop, &push.fulfillment_id).await;
        Ok(Reconciled::Sent)
    } else {
        transition(
            state,
            shop,
            push,
            review("TikTok Shop holds another tracking number or carrier than the one pushed."),
        )
        .await?;
        Ok(Reconciled::NeedsReview)
    }
}

/// The fulfillment as it is now, as the answer.
async fn answer(
    state: &Arc<AppState>,
    shop: &str,
    fulfillment_id: &str,
    status: StatusCode,
) -> Result<Outcome, ApiError> {
    let record = load(state, shop, fulfillment_id).await?;
    Ok((status, fulfillment_json(&record)))
}
