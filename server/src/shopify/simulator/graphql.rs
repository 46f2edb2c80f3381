//! The simulator's Admin GraphQL: the subset of Shopify's schema the app's features touch, executed
//! over the simulated shop's data. Queries are parsed (`graphql-parser`), checked against the subset's
//! schema (an unknown field is refused as Shopify refuses it), costed the way Shopify costs them
//! (scalars 0, objects 1, connections 2 + `first` × the node's cost, a list sized by `first` that many
//! objects, mutations 10; a connection without `first` or `last` is refused) and answered with only the fields asked for.

use std::collections::HashMap;

use base64::Engine as _;
use graphql_parser::query::{
    Definition, Document, Field, OperationDefinition, Selection, SelectionSet, TypeCondition,
    Value as GqlValue,
};
use serde_json::{json, Map, Value};

use super::shop::{
    gid, gid_id, iso, ShopData, SimFulfillment, SimFulfillmentLine, SimLineItem, SimMetafield,
    SimOrder, SimTracking,
};

/// The most a single query may cost.
pub const MAX_QUERY_COST: u32 = 1000;

/// A type of the subset's schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ty {
    Named(&'static str),
    /// `{T}Connection`.
    Conn(&'static str),
    /// `{T}Edge`.
    Edge(&'static str),
}

impl Ty {
    fn name(self) -> String {
        match self {
            Self::Named(n) => n.to_owned(),
            Self::Conn(n) => format!("{n}Connection"),
            Self::Edge(n) => format!("{n}Edge"),
        }
    }
}

/// What a field holds.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Scalar,
    Object(Ty),
    List(Ty),
    Connection(&'static str),
}

/// The subset's schema: the kind of each field of each type.
fn field_kind(ty: Ty, field: &str) -> Option<Kind> {
    use Kind::{Connection, List, Object, Scalar};
    use Ty::Named as N;
    if field == "__typename" {
        return Some(Scalar);
    }
    let kind = match (ty, field) {
        (Ty::Conn(t), "edges") => List(Ty::Edge(t)),
        (Ty::Conn(t), "nodes") => List(N(t)),
        (Ty::Conn(_), "pageInfo") => Object(N("PageInfo")),
        (Ty::Edge(_), "cursor") => Scalar,
        (Ty::Edge(t), "node") => Object(N(t)),
        (N("QueryRoot"), "order") => Object(N("Order")),
        (N("QueryRoot"), "orders") => Connection("Order"),
        (N("QueryRoot"), "fulfillment") => Object(N("Fulfillment")),
        (N("QueryRoot"), "shop") => Object(N("Shop")),
        (N("Mutation"), "fulfillmentTrackingInfoUpdate") => {
            Object(N("FulfillmentTrackingInfoUpdatePayload"))
        }
        (N("Mutation"), "metafieldsSet") => Object(N("MetafieldsSetPayload")),
        (N("Shop"), "name" | "myshopifyDomain")
        | (
            N("Order"),
            "id" | "legacyResourceId" | "name" | "createdAt" | "updatedAt" | "note" | "tags"
            | "sourceIdentifier" | "sourceName" | "email",
        )
        | (N("Attribute"), "key" | "value")
        | (N("LineItem"), "id" | "sku" | "name" | "title" | "quantity")
        | (
            N("Fulfillment"),
            "id" | "legacyResourceId" | "name" | "status" | "createdAt" | "updatedAt",
        )
        | (N("FulfillmentTrackingInfo"), "company" | "number" | "url")
        | (N("FulfillmentLineItem"), "id" | "quantity")
        | (N("Metafield"), "id" | "namespace" | "key" | "value" | "type")
        | (N("UserError" | "MetafieldsSetUserError"), "field" | "message")
        | (N("MetafieldsSetUserError"), "code")
        | (N("PageInfo"), "hasNextPage" | "hasPreviousPage" | "startCursor" | "endCursor") => {
            Scalar
        }
        (N("Order"), "customAttributes") => List(N("Attribute")),
        (N("Order"), "lineItems") => Connection("LineItem"),
        (N("Order"), "fulfillments") => List(N("Fulfillment")),
        (N("Order"), "metafield") => Object(N("Metafield")),
        (N("Fulfillment"), "trackingInfo") => List(N("FulfillmentTrackingInfo")),
        (N("Fulfillment"), "fulfillmentLineItems") => Connection("FulfillmentLineItem"),
        (N("Fulfillment"), "order") => Object(N("Order")),
        (N("FulfillmentLineItem"), "lineItem") => Object(N("LineItem")),
        (N("FulfillmentTrackingInfoUpdatePayload"), "fulfillment") => Object(N("Fulfillment")),
        (N("FulfillmentTrackingInfoUpdatePayload"), "userErrors") => List(N("UserError")),
        (N("MetafieldsSetPayload"), "metafields") => List(N("Metafield")),
        (N("MetafieldsSetPayload"), "userErrors") => List(N("MetafieldsSetUserError")),
        _ => return None,
    };
    Some(kind)
}

type Doc<'q> = Document<'q, &'q str>;
type Sel<'q> = SelectionSet<'q, &'q str>;
type Fld<'q> = Field<'q, &'q str>;

/// A parsed request: its operation's selection, whether it is a mutation, its fragments and variables.
pub struct Request<'q> {
    selection: &'q Sel<'q>,
    /// Whether the operation is a mutation.
    pub mutation: bool,
    fragments: HashMap<&'q str, (&'q str, &'q Sel<'q>)>,
    variables: Map<String, Value>,
}

/// A request refused before execution: Shopify's message.
#[derive(Debug)]
pub struct Refused(pub String);

/// Parses `query`, picks `operation_name`'s operation (or the only one).
///
/// # Errors
/// [`Refused`] for a syntax error, no or several operations without a name.
pub fn parse(query: &str) -> Result<Doc<'_>, Refused> {
    graphql_parser::parse_query::<&str>(query).map_err(|e| Refused(format!("Parse error: {e}")))
}

impl<'q> Request<'q> {
    /// The request of a parsed document.
    ///
    /// # Errors
    /// [`Refused`] when the operation cannot be chosen or is a subscription.
    pub fn new(
        doc: &'q Doc<'q>,
        operation_name: Option<&str>,
        variables: Map<String, Value>,
    ) -> Result<Self, Refused> {
        let mut fragments = HashMap::new();
        let mut operations = Vec::new();
        for definition in &doc.definitions {
            match definition {
                Definition::Fragment(f) => {
                    let TypeCondition::On(on) = f.type_condition;
                    fragments.insert(f.name, (on, &f.selection_set));
                }
                Definition::Operation(op) => {
                    let (name, selection, mutation) = match op {
                        OperationDefinition::SelectionSet(s) => (None, s, false),
                        OperationDefinition::Query(q) => (q.name, &q.selection_set, false),
                        OperationDefinition::Mutation(m) => (m.name, &m.selection_set, true),
                        OperationDefinition::Subscription(_) => {
                            return Err(Refused("Subscriptions are not supported".into()))
                        }
                    };
                    operations.push((name, selection, mutation));
                }
            }
        }
        let chosen = match operation_name {
            Some(wanted) => operations.into_iter().find(|(n, _, _)| *n == Some(wanted)),
            None if operations.len() == 1 => operations.pop(),
            None => None,
        };
        let (_, selection, mutation) = chosen.ok_or_else(|| {
            Refused("An operation name is required when the document has several".into())
        })?;
        Ok(Self {
            selection,
            mutation,
            fragments,
            variables,
        })
    }

    fn root(&self) -> Ty {
        Ty::Named(if self.mutation {
            "Mutation"
        } else {
            "QueryRoot"
        })
    }

    /// The fields of a selection applying to `ty`, fragments expanded.
    fn fields(&self, ty: Ty, selection: &'q Sel<'q>) -> Result<Vec<&'q Fld<'q>>, Refused> {
        let mut out = Vec::new();
        self.collect(ty, selection, &mut out, 0)?;
        Ok(out)
    }

    fn collect(
        &self,
        ty: Ty,
        selection: &'q Sel<'q>,
        out: &mut Vec<&'q Fld<'q>>,
        depth: u32,
    ) -> Result<(), Refused> {
        if depth > 20 {
            return Err(Refused("Fragments nest too deep".into()));
        }
        for item in &selection.items {
            match item {
                Selection::Field(f) => out.push(f),
                Selection::InlineFragment(f) => {
                    let applies = match &f.type_condition {
                        None => true,
                        Some(TypeCondition::On(on)) => *on == ty.name(),
                    };
                    if applies {
                        self.collect(ty, &f.selection_set, out, depth + 1)?;
                    }
                }
                Selection::FragmentSpread(s) => {
                    let (on, set) = self.fragments.get(s.fragment_name).ok_or_else(|| {
                        Refused(format!(
                            "Fragment {} was used, but not defined",
                            s.fragment_name
                        ))
                    })?;
                    if *on == ty.name() {
                        self.collect(ty, set, out, depth + 1)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn value(&self, value: &GqlValue<'q, &'q str>) -> Value {
        match value {
            GqlValue::Variable(name) => self.variables.get(*name).cloned().unwrap_or(Value::Null),
            GqlValue::Int(n) => n.as_i64().map_or(Value::Null, Value::from),
            GqlValue::Float(f) => json!(f),
            GqlValue::String(s) => Value::String(s.clone()),
            GqlValue::Boolean(b) => Value::Bool(*b),
            GqlValue::Null => Value::Null,
            GqlValue::Enum(e) => Value::String((*e).to_owned()),
            GqlValue::List(items) => Value::Array(items.iter().map(|v| self.value(v)).collect()),
            GqlValue::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| ((*k).to_owned(), self.value(v)))
                    .collect(),
            ),
        }
    }

    fn args(&self, field: &Fld<'q>) -> Map<String, Value> {
        field
            .arguments
            .iter()
            .map(|(k, v)| ((*k).to_owned(), self.value(v)))
            .collect()
    }

    /// The requested cost of the operation.
    ///
    /// # Errors
    /// [`Refused`] for an unknown field or a connection without `first` or `last`.
    pub fn cost(&self) -> Result<u32, Refused> {
        let root = self.root();
        let mut total = 0u32;
        for field in self.fields(root, self.selection)? {
            let cost = self.field_cost(root, field)?;
            total = total.saturating_add(if self.mutation { 10 } else { cost });
        }
        Ok(total)
    }

    fn selection_cost(&self, ty: Ty, selection: &'q Sel<'q>) -> Result<u32, Refused> {
        let mut total = 0u32;
        for field in self.fields(ty, selection)? {
            total = total.saturating_add(self.field_cost(ty, field)?);
        }
        Ok(total)
    }

    fn field_cost(&self, ty: Ty, field: &'q Fld<'q>) -> Result<u32, Refused> {
        let kind = field_kind(ty, field.name).ok_or_else(|| unknown_field(ty, field.name))?;
        Ok(match kind {
            Kind::Scalar => 0,
            Kind::Object(t) | Kind::List(t) => match t {
                // Edges and pages are the connection's own: the node is what costs.
                Ty::Edge(_) => self.selection_cost(t, &field.selection_set)?,
                Ty::Named("PageInfo") => 0,
                _ => {
                    let one = 1 + self.selection_cost(t, &field.selection_set)?;
                    // A list sized by `first` costs that many of its objects.
                    let size = self
                        .args(field)
                        .get("first")
                        .and_then(Value::as_u64)
                        .map_or(1, |n| u32::try_from(n.min(250)).unwrap_or(250));
                    one.saturating_mul(size)
                }
            },
            Kind::Connection(t) => {
                let args = self.args(field);
                let size = ["first", "last"]
                    .iter()
                    .find_map(|k| args.get(*k).and_then(Value::as_u64))
                    .ok_or_else(|| {
                        Refused(format!(
                            "you must provide one of first or last for the {} connection",
                            field.name
                        ))
                    })?;
                let size = u32::try_from(size.min(250)).unwrap_or(250);
                let node = self.selection_cost(Ty::Conn(t), &field.selection_set)?;
                2u32.saturating_add(size.saturating_mul(node))
            }
        })
    }
}

fn unknown_field(ty: Ty, field: &str) -> Refused {
    Refused(format!(
        "Field '{field}' doesn't exist on type '{}'",
        ty.name()
    ))
}

/// A `userErrors` entry.
#[derive(Clone, Debug)]
pub struct SimUserError {
    field: Vec<String>,
    message: String,
    code: Option<&'static str>,
}

impl SimUserError {
    fn new(field: &[&str], message: impl Into<String>, code: Option<&'static str>) -> Self {
        Self {
            field: field.iter().map(|s| (*s).to_owned()).collect(),
            message: message.into(),
            code,
        }
    }
}

/// An object being resolved.
#[derive(Clone)]
enum Obj<'d> {
    Root,
    Shop(&'d str),
    Order(&'d SimOrder),
    LineItem(&'d SimLineItem),
    Fulfillment(&'d SimOrder, &'d SimFulfillment),
    FulfillmentLine(&'d SimOrder, &'d SimFulfillmentLine),
    Tracking(&'d SimTracking),
    Attribute(&'d str, &'d str),
    Metafield(&'d SimMetafield),
    UserError(SimUserError),
    TrackingPayload(
        Option<(&'d SimOrder, &'d SimFulfillment)>,
        Vec<SimUserError>,
    ),
    MetafieldsPayload(Vec<&'d SimMetafield>, Vec<SimUserError>),
    Conn(Vec<(usize, Obj<'d>)>, bool, bool),
    Edge(usize, Box<Obj<'d>>),
    PageInfo(bool, bool, Option<usize>, Option<usize>),
}

enum Out<'d> {
    Scalar(Value),
    Object(Obj<'d>),
    List(Vec<Obj<'d>>),
    Null,
}

fn cursor(index: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{{\"last_id\":{index}}}"))
}

fn cursor_index(cursor: &str) -> Option<usize> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(cursor)
        .ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    usize::try_from(value.get("last_id")?.as_u64()?).ok()
}

/// What the executor reads: the shop's data, its domain and the app's resolved `$app` namespace.
pub struct Context<'d> {
    /// The shop's data.
    pub data: &'d ShopData,
    /// The shop's domain.
    pub shop: &'d str,
    /// What `$app` stands for in a namespace.
    pub app_namespace: &'d str,
}

impl Context<'_> {
    /// A namespace with `$app` resolved.
    #[must_use]
    pub fn namespace(&self, given: &str) -> String {
        resolve_namespace(given, self.app_namespace)
    }
}

/// A namespace with `$app` resolved as Shopify resolves it: `$app` is the app's own namespace
/// (`app--{id}`), `$app:foo` is `app--{id}--foo`.
#[must_use]
pub fn resolve_namespace(given: &str, app_namespace: &str) -> String {
    match given.strip_prefix("$app") {
        Some("") => app_namespace.to_owned(),
        Some(rest) => rest
            .strip_prefix(':')
            .map_or_else(|| given.to_owned(), |sub| format!("{app_namespace}--{sub}")),
        None => given.to_owned(),
    }
}

/// The answer's `data` of a query, or Shopify's refusal.
///
/// # Errors
/// [`Refused`] for an unknown field or bad arguments.
pub fn execute_query<'q>(request: &Request<'q>, ctx: &Context<'_>) -> Result<Value, Refused> {
    select(
        request,
        ctx,
        &Obj::Root,
        Ty::Named("QueryRoot"),
        request.selection,
    )
}

/// The answer's `data` of a mutation whose effects were applied: its payloads resolved.
///
/// # Errors
/// [`Refused`] for an unknown field.
pub fn mutation_answer<'q>(
    request: &Request<'q>,
    ctx: &Context<'_>,
    outcomes: &[MutationOutcome],
) -> Result<Value, Refused> {
    let root = Ty::Named("Mutation");
    let mut out = Map::new();
    for (field, outcome) in request
        .fields(root, request.selection)?
        .iter()
        .zip(outcomes)
    {
        let key = field.alias.unwrap_or(field.name);
        let payload = match outcome {
            MutationOutcome::TrackingUpdated(id, errors) => {
                let found = id.and_then(|id| {
                    let order = ctx.data.order_of_fulfillment(id)?;
                    Some((order, order.fulfillments.iter().find(|f| f.id == id)?))
                });
                Obj::TrackingPayload(found, errors.clone())
            }
            MutationOutcome::MetafieldsSet(ids, errors) => {
                let metafields = ids
                    .iter()
                    .filter_map(|id| {
                        ctx.data
                            .orders
                            .values()
                            .flat_map(|o| o.metafields.iter())
                            .find(|m| m.id == *id)
                    })
                    .collect();
                Obj::MetafieldsPayload(metafields, errors.clone())
            }
        };
        let ty = match field_kind(root, field.name) {
            Some(Kind::Object(ty)) => ty,
            _ => return Err(unknown_field(root, field.name)),
        };
        out.insert(
            key.to_owned(),
            select(request, ctx, &payload, ty, &field.selection_set)?,
        );
    }
    Ok(Value::Object(out))
}

/// What a mutation did: ids to resolve its payload with, and its `userErrors`.
#[derive(Debug)]
pub enum MutationOutcome {
    /// `fulfillmentTrackingInfoUpdate`: the fulfillment's id when found.
    TrackingUpdated(Option<u64>, Vec<SimUserError>),
    /// `metafieldsSet`: the metafields set.
    MetafieldsSet(Vec<u64>, Vec<SimUserError>),
}

/// A root field's name and arguments.
pub type RootField = (String, Map<String, Value>);

/// The root fields of a mutation, with their arguments, in order.
///
/// # Errors
/// [`Refused`] for a field the mutation root lacks.
pub fn mutation_fields(request: &Request<'_>) -> Result<Vec<RootField>, Refused> {
    let root = Ty::Named("Mutation");
    request
        .fields(root, request.selection)?
        .into_iter()
        .map(|f| {
            field_kind(root, f.name).ok_or_else(|| unknown_field(root, f.name))?;
            Ok((f.name.to_owned(), request.args(f)))
        })
        .collect()
}

/// `fulfillmentTrackingInfoUpdate(fulfillmentId, trackingInfoInput: {company, number, url}, notifyCustomer)`
/// applied to `data` at `now` (Unix seconds). `refusal` is a message the simulated shop answers with
/// instead (a fault set by a test).
pub fn update_tracking(
    data: &mut ShopData,
    args: &Map<String, Value>,
    now: i64,
    refusal: Option<&str>,
) -> MutationOutcome {
    let id = args
        .get("fulfillmentId")
        .and_then(Value::as_str)
        .and_then(|g| gid_id(g, "Fulfillment"));
    let Some(fulfillment) = id.and_then(|id| data.fulfillment_mut(id)) else {
        return MutationOutcome::TrackingUpdated(
            None,
            vec![SimUserError::new(
                &["fulfillmentId"],
                "Fulfillment does not exist.",
                None,
            )],
        );
    };
    let input = args
        .get("trackingInfoInput")
        .cloned()
        .unwrap_or(Value::Null);
    let number = input.get("number").and_then(Value::as_str).map(str::trim);
    let errors = if let Some(message) = refusal {
        vec![SimUserError::new(&["trackingInfoInput"], message, None)]
    } else if fulfillment.status == "CANCELLED" {
        vec![SimUserError::new(
            &["fulfillmentId"],
            "Cannot update tracking of a cancelled fulfillment.",
            None,
        )]
    } else if number.is_some_and(|n| n.chars().count() > 255) {
        vec![SimUserError::new(
            &["trackingInfoInput", "number"],
            "Tracking number is too long (maximum is 255 characters)",
            None,
        )]
    } else {
        Vec::new()
    };
    if errors.is_empty() {
        let company = input
            .get("company")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| fulfillment.tracking.first().and_then(|t| t.company.clone()));
        fulfillment.tracking = number
            .filter(|n| !n.is_empty())
            .map(|n| SimTracking {
                company,
                number: n.to_owned(),
                url: input.get("url").and_then(Value::as_str).map(str::to_owned),
            })
            .into_iter()
            .collect();
        fulfillment.updated_at = now.max(fulfillment.updated_at + 1);
    }
    MutationOutcome::TrackingUpdated(id, errors)
}

/// The metafield types the simulator takes.
const METAFIELD_TYPES: &[&str] = &[
    "single_line_text_field",
    "multi_line_text_field",
    "number_integer",
];

/// `metafieldsSet(metafields: [{ownerId, namespace, key, type, value}])` on orders: all or nothing,
/// as Shopify applies it.
pub fn set_metafields(
    data: &mut ShopData,
    args: &Map<String, Value>,
    app_namespace: &str,
    next_id: &mut u64,
) -> MutationOutcome {
    let inputs = args
        .get("metafields")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut errors = Vec::new();
    let mut planned = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let text = |k: &str| {
            input
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let index = i.to_string();
        let at = |f: &'static str| SimUserError {
            field: vec!["metafields".into(), index.clone(), f.into()],
            message: String::new(),
            code: None,
        };
        let owner = gid_id(&text("ownerId"), "Order").filter(|id| data.orders.contains_key(id));
        let (kind, value, key) = (text("type"), text("value"), text("key"));
        let namespace = resolve_namespace(&text("namespace"), app_namespace);
        if owner.is_none() {
            errors.push(SimUserError {
                message: "Owner does not exist.".into(),
                code: Some("INVALID"),
                ..at("ownerId")
            });
        } else if !METAFIELD_TYPES.contains(&kind.as_str()) {
            errors.push(SimUserError {
                message: "Type is invalid.".into(),
                code: Some("INVALID_TYPE"),
                ..at("type")
            });
        } else if key.len() < 2 || namespace.len() < 2 {
            errors.push(SimUserError {
                message: "Key is too short.".into(),
                code: Some("TOO_SHORT"),
                ..at("key")
            });
        } else if value.trim().is_empty() {
            errors.push(SimUserError {
                message: "Value can't be blank.".into(),
                code: Some("BLANK"),
                ..at("value")
            });
        } else if let Some(owner) = owner {
            planned.push((owner, namespace, key, kind, value));
        }
    }
    if !errors.is_empty() {
        return MutationOutcome::MetafieldsSet(Vec::new(), errors);
    }
    let mut ids = Vec::new();
    for (owner, namespace, key, kind, value) in planned {
        let Some(order) = data.orders.get_mut(&owner) else {
            continue;
        };
        match order
            .metafields
            .iter_mut()
            .find(|m| m.namespace == namespace && m.key == key)
        {
            Some(existing) => {
                existing.kind = kind;
                existing.value = value;
                ids.push(existing.id);
            }
            None => {
                *next_id += 1;
                order.metafields.push(SimMetafield {
                    id: *next_id,
                    namespace,
                    key,
                    kind,
                    value,
                });
                ids.push(*next_id);
            }
        }
    }
    MutationOutcome::MetafieldsSet(ids, Vec::new())
}

fn select<'q, 'd>(
    request: &Request<'q>,
    ctx: &Context<'d>,
    obj: &Obj<'d>,
    ty: Ty,
    selection: &'q Sel<'q>,
) -> Result<Value, Refused> {
    let fields = request.fields(ty, selection)?;
    let mut out = Map::new();
    for field in fields {
        let key = field.alias.unwrap_or(field.name).to_owned();
        if field.name == "__typename" {
            out.insert(key, Value::String(ty.name()));
            continue;
        }
        let kind = field_kind(ty, field.name).ok_or_else(|| unknown_field(ty, field.name))?;
        let args = request.args(field);
        let value = match (kind, resolve(ctx, obj, field.name, &args)?) {
            (_, Out::Null) => Value::Null,
            (Kind::Scalar, Out::Scalar(v)) => v,
            (Kind::Object(t), Out::Object(o)) => select(request, ctx, &o, t, &field.selection_set)?,
            (Kind::List(t), Out::List(items)) => Value::Array(
                items
                    .iter()
                    .map(|o| select(request, ctx, o, t, &field.selection_set))
                    .collect::<Result<_, _>>()?,
            ),
            (Kind::Connection(t), Out::List(items)) => {
                let page = paginate(items, &args);
                select(request, ctx, &page, Ty::Conn(t), &field.selection_set)?
            }
            _ => {
                return Err(Refused(format!(
                    "Internal error resolving '{}'",
                    field.name
                )))
            }
        };
        out.insert(key, value);
    }
    Ok(Value::Object(out))
}

fn paginate<'d>(items: Vec<Obj<'d>>, args: &Map<String, Value>) -> Obj<'d> {
    let total = items.len();
    let count = |k: &str| {
        args.get(k)
            .and_then(Value::as_u64)
            .and_then(|n| usize::try_from(n).ok())
    };
    let after = args
        .get("after")
        .and_then(Value::as_str)
        .and_then(cursor_index);
    let before = args
        .get("before")
        .and_then(Value::as_str)
        .and_then(cursor_index);
    let start = after.map_or(0, |i| i + 1).min(total);
    let end = before.unwrap_or(total).clamp(start, total);
    let (start, end) = match (count("first"), count("last")) {
        (Some(first), _) => (start, end.min(start + first)),
        (None, Some(last)) => (end.saturating_sub(last).max(start), end),
        (None, None) => (start, end),
    };
    let page: Vec<(usize, Obj<'d>)> = items
        .into_iter()
        .enumerate()
        .skip(start)
        .take(end - start)
        .collect();
    Obj::Conn(page, end < total, start > 0)
}

fn scalar(v: impl Into<Value>) -> Out<'static> {
    Out::Scalar(v.into())
}

fn opt_scalar<T: Into<Value>>(v: Option<T>) -> Out<'static> {
    v.map_or(Out::Null, |v| Out::Scalar(v.into()))
}

fn user_errors<'d>(errors: &[SimUserError]) -> Out<'d> {
    Out::List(errors.iter().cloned().map(Obj::UserError).collect())
}

/// Orders matching a search `query`: `created_at:>=DATE`, `created_at:>DATE`, `updated_at:>=DATE`
/// and `updated_at:>DATE` (RFC 3339 or a date) are applied; other terms are ignored.
fn matches_search(order: &SimOrder, query: &str) -> bool {
    query.split_whitespace().all(|term| {
        let Some((field, condition)) = term.split_once(':') else {
            return true;
        };
        let at = match field {
            "created_at" => order.created_at,
            "updated_at" => order.updated_at,
            _ => return true,
        };
        let (op, date) = condition
            .strip_prefix(">=")
            .map(|d| (">=", d))
            .or_else(|| condition.strip_prefix('>').map(|d| (">", d)))
            .or_else(|| condition.strip_prefix("<=").map(|d| ("<=", d)))
            .or_else(|| condition.strip_prefix('<').map(|d| ("<", d)))
            .unwrap_or(("=", condition));
        let date = date.trim_matches(|c| c == '\'' || c == '"');
        let bound = preflight::Timestamp::parse(date)
            .or_else(|_| preflight::Timestamp::parse(&format!("{date}T00:00:00Z")))
            .map(|t| t.unix_millis() / 1000);
        let Ok(bound) = bound else { return true };
        match op {
            ">=" => at >= bound,
            ">" => at > bound,
            "<=" => at <= bound,
            "<" => at < bound,
            _ => true,
        }
    })
}

fn resolve<'d>(
    ctx: &Context<'d>,
    obj: &Obj<'d>,
    field: &str,
    args: &Map<String, Value>,
) -> Result<Out<'d>, Refused> {
    let arg = |k: &str| args.get(k).and_then(Value::as_str);
    let data = ctx.data;
    Ok(match (obj, field) {
        (Obj::Root, "order") => arg("id")
            .and_then(|g| gid_id(g, "Order"))
            .and_then(|id| data.orders.get(&id))
            .map_or(Out::Null, |o| Out::Object(Obj::Order(o))),
        (Obj::Root, "fulfillment") => arg("id")
            .and_then(|g| gid_id(g, "Fulfillment"))
            .and_then(|id| {
                let order = data.order_of_fulfillment(id)?;
                Some(Obj::Fulfillment(
                    order,
                    order.fulfillments.iter().find(|f| f.id == id)?,
                ))
            })
            .map_or(Out::Null, Out::Object),
        (Obj::Root, "orders") => {
            let search = arg("query").unwrap_or_default();
            let mut orders: Vec<Obj<'d>> = data
                .orders
                .values()
                .filter(|o| matches_search(o, search))
                .map(Obj::Order)
                .collect();
            if args.get("reverse").and_then(Value::as_bool) == Some(true) {
                orders.reverse();
            }
            Out::List(orders)
        }
        (Obj::Root, "shop") => Out::Object(Obj::Shop(ctx.shop)),
        (Obj::Shop(domain), "myshopifyDomain") => scalar(*domain),
        (Obj::Shop(domain), "name") => scalar(domain.split('.').next().unwrap_or(domain)),
        (Obj::Order(o), "id") => scalar(gid("Order", o.id)),
        (Obj::Order(o), "legacyResourceId") => scalar(o.id.to_string()),
        (Obj::Order(o), "name") => scalar(o.name.clone()),
        (Obj::Order(o), "createdAt") => scalar(iso(o.created_at)),
        (Obj::Order(o), "updatedAt") => scalar(iso(o.updated_at)),
        (Obj::Order(o), "note") => opt_scalar(o.note.clone()),
        (Obj::Order(o), "tags") => scalar(o.tags.clone()),
        (Obj::Order(o), "sourceIdentifier") => opt_scalar(o.source_identifier.clone()),
        (Obj::Order(o), "sourceName") => opt_scalar(o.source_name.clone()),
        (Obj::Order(o), "email") => scalar(o.email.clone()),
        (Obj::Order(o), "customAttributes") => Out::List(
            o.custom_attributes
                .iter()
                .map(|(k, v)| Obj::Attribute(k, v))
                .collect(),
        ),
        (Obj::Order(o), "lineItems") => Out::List(o.line_items.iter().map(Obj::LineItem).collect()),
        (Obj::Order(o), "fulfillments") => {
            let first = args
                .get("first")
                .and_then(Value::as_u64)
                .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
            Out::List(
                o.fulfillments
                    .iter()
                    .take(first)
                    .map(|f| Obj::Fulfillment(o, f))
                    .collect(),
            )
        }
        (Obj::Order(o), "metafield") => {
            let namespace = ctx.namespace(arg("namespace").unwrap_or_default());
            let key = arg("key").unwrap_or_default();
            o.metafields
                .iter()
                .find(|m| m.namespace == namespace && m.key == key)
                .map_or(Out::Null, |m| Out::Object(Obj::Metafield(m)))
        }
        (Obj::Attribute(k, _), "key") => scalar(*k),
        (Obj::Attribute(_, v), "value") => scalar(*v),
        (Obj::LineItem(l), "id") => scalar(gid("LineItem", l.id)),
        (Obj::LineItem(l), "sku") => opt_scalar(l.sku.clone()),
        (Obj::LineItem(l), "name" | "title") => scalar(l.name.clone()),
        (Obj::LineItem(l), "quantity") => scalar(l.quantity),
        (Obj::Fulfillment(_, f), "id") => scalar(gid("Fulfillment", f.id)),
        (Obj::Fulfillment(_, f), "legacyResourceId") => scalar(f.id.to_string()),
        (Obj::Fulfillment(_, f), "name") => scalar(f.name.clone()),
        (Obj::Fulfillment(_, f), "status") => scalar(f.status.clone()),
        (Obj::Fulfillment(_, f), "createdAt") => scalar(iso(f.created_at)),
        (Obj::Fulfillment(_, f), "updatedAt") => scalar(iso(f.updated_at)),
        (Obj::Fulfillment(_, f), "trackingInfo") => {
            Out::List(f.tracking.iter().map(Obj::Tracking).collect())
        }
        (Obj::Fulfillment(o, f), "fulfillmentLineItems") => {
            Out::List(f.lines.iter().map(|l| Obj::FulfillmentLine(o, l)).collect())
        }
        (Obj::Fulfillment(o, _), "order") => Out::Object(Obj::Order(o)),
        (Obj::Tracking(t), "company") => opt_scalar(t.company.clone()),
        (Obj::Tracking(t), "number") => scalar(t.number.clone()),
        (Obj::Tracking(t), "url") => opt_scalar(t.url.clone()),
        (Obj::FulfillmentLine(_, l), "id") => scalar(gid("FulfillmentLineItem", l.id)),
        (Obj::FulfillmentLine(_, l), "quantity") => scalar(l.quantity),
        (Obj::FulfillmentLine(o, l), "lineItem") => o
            .line_items
            .iter()
            .find(|i| i.id == l.line_item_id)
            .map_or(Out::Null, |i| Out::Object(Obj::LineItem(i))),
        (Obj::Metafield(m), "id") => scalar(gid("Metafield", m.id)),
        (Obj::Metafield(m), "namespace") => scalar(m.namespace.clone()),
        (Obj::Metafield(m), "key") => scalar(m.key.clone()),
        (Obj::Metafield(m), "value") => scalar(m.value.clone()),
        (Obj::Metafield(m), "type") => scalar(m.kind.clone()),
        (Obj::UserError(e), "field") => scalar(e.field.clone()),
        (Obj::UserError(e), "message") => scalar(e.message.clone()),
        (Obj::UserError(e), "code") => opt_scalar(e.code),
        (Obj::TrackingPayload(found, _), "fulfillment") => {
            found.map_or(Out::Null, |(o, f)| Out::Object(Obj::Fulfillment(o, f)))
        }
        (Obj::TrackingPayload(_, errors) | Obj::MetafieldsPayload(_, errors), "userErrors") => {
            user_errors(errors)
        }
        (Obj::MetafieldsPayload(list, _), "metafields") => {
            Out::List(list.iter().map(|m| Obj::Metafield(m)).collect())
        }
        (Obj::Conn(items, ..), "edges") => Out::List(
            items
                .iter()
                .map(|(i, o)| Obj::Edge(*i, Box::new(o.clone())))
                .collect(),
        ),
        (Obj::Conn(items, ..), "nodes") => {
            Out::List(items.iter().map(|(_, o)| o.clone()).collect())
        }
        (Obj::Conn(items, next, previous), "pageInfo") => Out::Object(Obj::PageInfo(
            *next,
            *previous,
            items.first().map(|(i, _)| *i),
            items.last().map(|(i, _)| *i),
        )),
        (Obj::Edge(i, _), "cursor") => scalar(cursor(*i)),
        (Obj::Edge(_, node), "node") => Out::Object((**node).clone()),
        (Obj::PageInfo(next, ..), "hasNextPage") => scalar(*next),
        (Obj::PageInfo(_, previous, ..), "hasPreviousPage") => scalar(*previous),
        (Obj::PageInfo(_, _, start, _), "startCursor") => opt_scalar(start.map(cursor)),
        (Obj::PageInfo(.., end), "endCursor") => opt_scalar(end.map(cursor)),
        _ => return Err(Refused(format!("Field '{field}' cannot be resolved here"))),
    })
}

/// Cursors and searches, for the simulator's tests.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_read_back_and_searches_filter_by_date() {
        assert_eq!(cursor_index(&cursor(7)), Some(7));
        assert_eq!(cursor_index("not base64!"), None);
        let order = SimOrder {
            id: 1,
            name: "#1".into(),
            created_at: 1_700_000_000,
            updated_at: 1_700_000_000,
            note: None,
            tags: Vec::new(),
            custom_attributes: Vec::new(),
            source_identifier: None,
            source_name: None,
            email: String::new(),
            line_items: Vec::new(),
            fulfillments: Vec::new(),
            metafields: Vec::new(),
        };
        assert!(matches_search(&order, "created_at:>=2023-11-01"));
        assert!(!matches_search(
            &order,
            "created_at:>='2023-11-20T00:00:00Z'"
        ));
        assert!(matches_search(&order, "status:any"));
    }

    #[test]
    fn costs_follow_shopifys_rules() {
        let doc = parse(
            "query($id: ID!) { order(id: $id) { id name lineItems(first: 10) { nodes { sku } } \
             fulfillments(first: 5) { id trackingInfo { number } } } }",
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        let request = Request::new(&doc, None, Map::new()).unwrap_or_else(|e| panic!("{e:?}"));
        // order 1 + lineItems (2 + 10 × 1) + fulfillments 5 × (1 + trackingInfo 1).
        assert_eq!(request.cost().ok(), Some(23));
        let doc = parse("{ orders { nodes { id } } }").unwrap_or_else(|e| panic!("{e:?}"));
        let request = Request::new(&doc, None, Map::new()).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(request.cost().is_err_and(|e| e.0.contains("first or last")));
        let doc = parse("{ order(id: 1) { buyerSecret } }").unwrap_or_else(|e| panic!("{e:?}"));
        let request = Request::new(&doc, None, Map::new()).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(request
            .cost()
            .is_err_and(|e| e.0 == "Field 'buyerSecret' doesn't exist on type 'Order'"));
    }
}
