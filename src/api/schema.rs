//! The GraphQL schema: queries, mutations and subscriptions over the store.
//!
//! Every resolver finds the [`Caller`] in the request's data (put there by the HTTP or
//! WebSocket layer after authentication) and sees only the projects the caller may see;
//! anything else answers as if it did not exist.

use std::collections::VecDeque;
use std::sync::Arc;

use async_graphql::{Context, Json, Object, Schema, SchemaBuilder, Subscription};
use futures::Stream;
use serde_json::{json, Value};
use tokio::sync::watch;

use super::apply::{apply_built, apply_documents_warned};
use super::auth::{Caller, ProjectScope};
use super::error::{gql, ApiError};
use super::render::SdlRenderer;
use super::types::{
    check_range, AFFunction, AFFunctionCreateInput, AFFunctionUpdateInput, AFFunctionWhereInput,
    AppliedResource, Deleted, GqlKind, ResourceChange, ResourceObject, Viewer,
};
use crate::spec::{Kind, ResourceKey, API_VERSION};
use crate::store::{Change, ChangeCursor, ChangeFeed, LabelSelector, ListQuery, Store, StoreError};

/// The schema type.
pub type ApiSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Resources returned when a query asks for no particular number.
pub const DEFAULT_PAGE: i32 = 100;
/// The most resources one query may return.
pub const MAX_PAGE: i32 = 1000;
/// Changes read from the store at once by a subscription.
const CHANGE_BATCH: i64 = 256;

/// What resolvers need: the store, the optional SDL renderer and the change feed.
pub struct ApiContext {
    /// Desired and observed state.
    pub store: Arc<dyn Store>,
    /// Renders `renderedSdl`; `None` answers null.
    pub renderer: Option<Arc<dyn SdlRenderer>>,
    /// The shared change watcher behind subscriptions.
    pub feed: ChangeFeed,
    /// Turns true when the server shuts down; ends every subscription.
    pub shutdown: watch::Receiver<bool>,
}

impl std::fmt::Debug for ApiContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiContext")
            .field("renderer", &self.renderer.is_some())
            .field("feed", &self.feed)
            .finish()
    }
}

impl ApiContext {
    /// The context of a resolver.
    pub fn get<'a>(ctx: &Context<'a>) -> Result<&'a ApiContext, ApiError> {
        ctx.data::<ApiContext>()
            .map_err(|e| ApiError::internal("the schema has no ApiContext", &e.message))
    }
}

fn caller<'a>(ctx: &Context<'a>) -> Result<&'a Caller, ApiError> {
    ctx.data::<Caller>().map_err(|_| ApiError::MissingToken)
}

fn not_found(kind: Kind, name: &str) -> ApiError {
    ApiError::NotFound(format!("{}/{}", kind.singular(), name))
}

fn bad_selector(message: String) -> ApiError {
    ApiError::BadRequest(message)
}

/// The root of queries.
#[derive(Debug, Default)]
pub struct QueryRoot;

/// Reads desired and observed state.
#[Object(name = "Query")]
impl QueryRoot {
    /// The token making the request.
    async fn viewer(&self, ctx: &Context<'_>) -> async_graphql::Result<Viewer> {
        gql(async {
            let c = caller(ctx)?;
            Ok(Viewer {
                token_id: c.token_id.clone(),
                project: c.project.clone(),
                admin: c.admin,
            })
        })
        .await
    }

    /// Resources by kind, project, name and labels, ordered by kind, project and name.
    /// Without `project`, a project token lists its project and an admin token every
    /// project. `labels` is a selector such as `team=core,tier!=edge,canary,!legacy`.
    /// `limit` is 1 to 1000 (default 100); `offset` (0 or more) skips that many. Values
    /// outside these ranges are refused with BAD_REQUEST.
    #[graphql(complexity = "(limit.clamp(1, MAX_PAGE) as usize) * child_complexity")]
    #[allow(clippy::too_many_arguments)]
    async fn resources(
        &self,
        ctx: &Context<'_>,
        kind: Option<GqlKind>,
        project: Option<String>,
        name: Option<String>,
        labels: Option<String>,
        #[graphql(default = 100)] limit: i32,
        #[graphql(default = 0)] offset: i32,
    ) -> async_graphql::Result<Vec<ResourceObject>> {
        gql(async {
            check_range("limit", limit, 1, MAX_PAGE)?;
            check_range("offset", offset, 0, i32::MAX)?;
            let (api, c) = (ApiContext::get(ctx)?, caller(ctx)?);
            let project = match c.list_scope(project.as_deref()) {
                ProjectScope::Nothing => return Ok(Vec::new()),
                ProjectScope::All => None,
                ProjectScope::One(p) => Some(p),
            };
            let selector: LabelSelector = labels
                .as_deref()
                .unwrap_or("")
                .parse()
                .map_err(bad_selector)?;
            let kind: Option<Kind> = kind.map(Into::into);
            if let (Some(kind), Some(name), Some(project)) = (kind, &name, &project) {
                let r = api
                    .store
                    .get(&ResourceKey::new(kind, project, name))
                    .await
                    .map_err(ApiError::from_store)?;
                return Ok(r
                    .filter(|r| selector.matches(&r.metadata.labels) && offset <= 0)
                    .map(ResourceObject)
                    .into_iter()
                    .collect());
            }
            let offset = usize::try_from(offset).unwrap_or(0);
            let limit = usize::try_from(limit.clamp(1, MAX_PAGE)).unwrap_or(0);
            // The page is cut in the store unless a name filter applies after it.
            let paged = name.is_none();
            let all = api
                .store
                .list(&ListQuery {
                    kind,
                    project,
                    selector,
                    offset: if paged { offset } else { 0 },
                    limit: paged.then_some(limit),
                })
                .await
                .map_err(ApiError::from_store)?;
            let skip = if paged { 0 } else { offset };
            Ok(all
                .into_iter()
                .filter(|r| name.as_deref().is_none_or(|n| r.metadata.name == n))
                .skip(skip)
                .take(limit)
                .map(ResourceObject)
                .collect())
        })
        .await
    }

    /// One resource; null when it does not exist or the token may not see it. Without
    /// `project`, the token's project.
    async fn resource(
        &self,
        ctx: &Context<'_>,
        kind: GqlKind,
        name: String,
        project: Option<String>,
    ) -> async_graphql::Result<Option<ResourceObject>> {
        gql(async {
            let (api, c) = (ApiContext::get(ctx)?, caller(ctx)?);
            let Some(project) = c.project_for(project.as_deref()) else {
                return Ok(None);
            };
            let r = api
                .store
                .get(&ResourceKey::new(kind.into(), project, name))
                .await
                .map_err(ApiError::from_store)?;
            Ok(r.map(ResourceObject))
        })
        .await
    }

    /// Functions, in the platform's shape. Without `project`, a project token lists its
    /// project and an admin token every project.
    async fn af_functions(
        &self,
        ctx: &Context<'_>,
        project: Option<String>,
    ) -> async_graphql::Result<Vec<AFFunction>> {
        gql(async {
            let (api, c) = (ApiContext::get(ctx)?, caller(ctx)?);
            let project = match c.list_scope(project.as_deref()) {
                ProjectScope::Nothing => return Ok(Vec::new()),
                ProjectScope::All => None,
                ProjectScope::One(p) => Some(p),
            };
            let all = api
                .store
                .list(&ListQuery {
                    kind: Some(Kind::Function),
                    project,
                    ..Default::default()
                })
                .await
                .map_err(ApiError::from_store)?;
            Ok(all
                .into_iter()
                .filter_map(AFFunction::from_resource)
                .collect())
        })
        .await
    }

    /// One function by name; null when it does not exist or the token may not see it.
    async fn af_function_by_name(
        &self,
        ctx: &Context<'_>,
        name: String,
        project: Option<String>,
    ) -> async_graphql::Result<Option<AFFunction>> {
        gql(async {
            let (api, c) = (ApiContext::get(ctx)?, caller(ctx)?);
            let Some(project) = c.project_for(project.as_deref()) else {
                return Ok(None);
            };
            let r = api
                .store
                .get(&ResourceKey::new(Kind::Function, project, name))
                .await
                .map_err(ApiError::from_store)?;
            Ok(r.and_then(AFFunction::from_resource))
        })
        .await
    }
}

/// Finds the function a `where` names, within what the caller may see.
async fn find_function(
    api: &ApiContext,
    c: &Caller,
    w: &AFFunctionWhereInput,
) -> Result<crate::spec::Resource, ApiError> {
    let project = w.project.as_deref();
    match (&w.id, &w.name) {
        (Some(_), Some(_)) | (None, None) => Err(ApiError::BadRequest(
            "`where` takes exactly one of `id` and `name`".into(),
        )),
        (None, Some(name)) => {
            let project = c
                .project_for(project)
                .ok_or_else(|| not_found(Kind::Function, name))?;
            api.store
                .get(&ResourceKey::new(Kind::Function, project, name))
                .await
                .map_err(ApiError::from_store)?
                .ok_or_else(|| not_found(Kind::Function, name))
        }
        (Some(id), None) => {
            let scope =
                match (project, c.admin) {
                    (None, true) => None,
                    _ => Some(c.project_for(project).ok_or_else(|| {
                        ApiError::NotFound(format!("function with id `{}`", id.0))
                    })?),
                };
            let all = api
                .store
                .list(&ListQuery {
                    kind: Some(Kind::Function),
                    project: scope,
                    ..Default::default()
                })
                .await
                .map_err(ApiError::from_store)?;
            all.into_iter()
                .find(|r| r.metadata.uid == id.0)
                .ok_or_else(|| ApiError::NotFound(format!("function with id `{}`", id.0)))
        }
    }
}

/// A Function document that the store writes only if `resource_version` is still the stored
/// one (0: only if it does not exist yet).
fn function_document(
    project: &str,
    name: &str,
    labels: &Value,
    spec: Value,
    resource_version: i64,
) -> Value {
    json!({
        "apiVersion": API_VERSION,
        "kind": "Function",
        "metadata": {"name": name, "project": project, "labels": labels, "resourceVersion": resource_version},
        "spec": spec,
    })
}

/// How often `updateAFFunction` reads and merges again when the function changed between
/// its read and its write.
const UPDATE_ATTEMPTS: usize = 5;

/// The document `updateAFFunction` writes: the stored Function with the given fields
/// replaced, conditional on the resourceVersion it was read at.
fn updated_function(
    existing: &crate::spec::Resource,
    data: &AFFunctionUpdateInput,
) -> Result<Value, ApiError> {
    let Value::Object(mut spec) = existing.spec.clone() else {
        return Err(ApiError::internal(
            "a stored Function spec is not an object",
            &existing.key().to_string(),
        ));
    };
    use async_graphql::MaybeUndefined::{Null, Undefined, Value as Set};
    match &data.slug {
        Set(s) => {
            spec.insert("slug".into(), Value::String(s.clone()));
        }
        Null => {
            spec.remove("slug");
        }
        Undefined => {}
    }
    if let Some(r) = &data.runtime {
        spec.insert("runtime".into(), Value::String(r.clone()));
    }
    if let Some(code) = &data.code {
        spec.insert(
            "code".into(),
            json!({"cid": code.cid, "blake3": code.blake3}),
        );
    }
    match &data.routes {
        Set(Json(r)) if !r.is_null() => {
            spec.insert("routes".into(), r.clone());
        }
        Set(_) | Null => {
            spec.remove("routes");
        }
        Undefined => {}
    }
    match &data.env {
        Set(env) => {
            spec.insert(
                "env".into(),
                Value::Array(env.iter().map(|e| e.to_json()).collect()),
            );
        }
        Null => {
            spec.remove("env");
        }
        Undefined => {}
    }
    let labels = serde_json::to_value(&existing.metadata.labels).unwrap_or(json!({}));
    Ok(function_document(
        &existing.metadata.project,
        &existing.metadata.name,
        &labels,
        Value::Object(spec),
        existing.metadata.resource_version,
    ))
}

async fn load_function(api: &ApiContext, key: &ResourceKey) -> Result<AFFunction, ApiError> {
    let r = api
        .store
        .get(key)
        .await
        .map_err(ApiError::from_store)?
        .ok_or_else(|| not_found(Kind::Function, &key.name))?;
    AFFunction::from_resource(r).ok_or_else(|| {
        ApiError::internal(
            "a stored Function has an undecodable spec",
            &key.to_string(),
        )
    })
}

/// The root of mutations. Each writes desired state and returns; the operator's
/// reconcilers, woken by the store's change feed, do the rest.
#[derive(Debug, Default)]
pub struct MutationRoot;

/// Writes desired state.
#[Object(name = "Mutation")]
impl MutationRoot {
    /// Creates or updates resources from YAML or JSON documents (each string may hold
    /// several YAML documents separated by `---`), validated and written exactly as by
    /// `af-operator apply`: atomically, all or nothing. A document without a project gets
    /// the token's project; a project token applying a document of another project is
    /// refused with FORBIDDEN. Invalid documents fail with INVALID_SPEC, listing each
    /// problem's document, line, column and field path in `extensions.problems`; so do
    /// specs whose rendered SDL Akash would refuse (e.g. more CPU than a provider offers),
    /// at the spec field it came from. A `secretRef` to a SecretStore that does not exist
    /// yet is a warning in the result, not an error.
    async fn apply(
        &self,
        ctx: &Context<'_>,
        documents: Vec<String>,
    ) -> async_graphql::Result<Vec<AppliedResource>> {
        gql(async {
            let (api, c) = (ApiContext::get(ctx)?, caller(ctx)?);
            let (applied, warnings) =
                apply_documents_warned(api.store.as_ref(), c, &documents).await?;
            Ok(applied
                .into_iter()
                .map(|a| {
                    let about: Vec<String> = warnings
                        .iter()
                        .filter(|w| w.key == a.key)
                        .map(|w| w.message.clone())
                        .collect();
                    AppliedResource(a, about)
                })
                .collect())
        })
        .await
    }

    /// Requests deletion of a resource (immediate when it has no finalizers). Without
    /// `project`, the token's project. NOT_FOUND when it does not exist or the token may
    /// not see it.
    async fn delete(
        &self,
        ctx: &Context<'_>,
        kind: GqlKind,
        name: String,
        project: Option<String>,
    ) -> async_graphql::Result<Deleted> {
        gql(async {
            let (api, c) = (ApiContext::get(ctx)?, caller(ctx)?);
            let kind_: Kind = kind.into();
            let project = c
                .project_for(project.as_deref())
                .ok_or_else(|| not_found(kind_, &name))?;
            let key = ResourceKey::new(kind_, &project, &name);
            let result = api
                .store
                .request_deletion(&key)
                .await
                .map_err(ApiError::from_store)?;
            Ok(Deleted {
                kind,
                name,
                project,
                result: result.into(),
            })
        })
        .await
    }

    /// Creates a Function. CONFLICT when one of that name exists in the project (checked in
    /// the write itself: of two concurrent creates, one succeeds). `routes` is validated as
    /// the Function spec validates it; problems name `data.…` paths and the offending route.
    #[graphql(name = "createAFFunction")]
    async fn create_af_function(
        &self,
        ctx: &Context<'_>,
        data: AFFunctionCreateInput,
    ) -> async_graphql::Result<AFFunction> {
        gql(async {
            let (api, c) = (ApiContext::get(ctx)?, caller(ctx)?);
            let project = data.project.clone().unwrap_or_else(|| c.project.clone());
            let key = ResourceKey::new(Kind::Function, &project, &data.name);
            let exists = || {
                ApiError::Conflict(format!(
                    "function `{}` already exists in project `{project}`; use updateAFFunction",
                    data.name
                ))
            };
            // A friendly early answer; the write below is what guarantees it (resourceVersion
            // 0: only if it does not exist).
            if c.may_access(&project)
                && api
                    .store
                    .get(&key)
                    .await
                    .map_err(ApiError::from_store)?
                    .is_some()
            {
                return Err(exists());
            }
            let mut spec = serde_json::Map::new();
            spec.insert("runtime".into(), Value::String(data.runtime.clone()));
            if let Some(slug) = &data.slug {
                spec.insert("slug".into(), Value::String(slug.clone()));
            }
            spec.insert(
                "code".into(),
                json!({"cid": data.code.cid, "blake3": data.code.blake3}),
            );
            if let Some(Json(routes)) = &data.routes {
                if !routes.is_null() {
                    spec.insert("routes".into(), routes.clone());
                }
            }
            if let Some(env) = &data.env {
                spec.insert(
                    "env".into(),
                    Value::Array(env.iter().map(|e| e.to_json()).collect()),
                );
            }
            let doc = function_document(&project, &data.name, &json!({}), Value::Object(spec), 0);
            let applied = match apply_built(api.store.as_ref(), c, &doc).await {
                Err(ApiError::Conflict(_)) => return Err(exists()),
                other => other?,
            };
            load_function(api, &applied.key).await
        })
        .await
    }

    /// Updates a Function found by `id` or `name`: fields left out keep their value. The
    /// write applies only if the function did not change since it was read; if it did
    /// (another update, the operator's status), the update is merged into the newer function
    /// and tried again, so concurrent updates all land and none is lost; CONFLICT only when
    /// it keeps changing.
    #[graphql(name = "updateAFFunction")]
    async fn update_af_function(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] where_: AFFunctionWhereInput,
        data: AFFunctionUpdateInput,
    ) -> async_graphql::Result<AFFunction> {
        gql(async {
            let (api, c) = (ApiContext::get(ctx)?, caller(ctx)?);
            let mut attempt = 1;
            loop {
                let existing = find_function(api, c, &where_).await?;
                let doc = updated_function(&existing, &data)?;
                match apply_built(api.store.as_ref(), c, &doc).await {
                    Ok(applied) => return load_function(api, &applied.key).await,
                    Err(ApiError::Conflict(_)) if attempt < UPDATE_ATTEMPTS => attempt += 1,
                    Err(e) => return Err(e),
                }
            }
        })
        .await
    }

    /// Requests deletion of a Function found by `id` or `name`; true once requested.
    #[graphql(name = "deleteAFFunction")]
    async fn delete_af_function(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] where_: AFFunctionWhereInput,
    ) -> async_graphql::Result<bool> {
        gql(async {
            let (api, c) = (ApiContext::get(ctx)?, caller(ctx)?);
            let existing = find_function(api, c, &where_).await?;
            api.store
                .request_deletion(&existing.key())
                .await
                .map_err(ApiError::from_store)?;
            Ok(true)
        })
        .await
    }
}

/// Which changes a subscription delivers.
struct ChangeFilter {
    scope: ProjectScope,
    kind: Option<Kind>,
    name: Option<String>,
}

impl ChangeFilter {
    fn matches(&self, c: &Change) -> bool {
        let project_ok = match &self.scope {
            ProjectScope::All => true,
            ProjectScope::One(p) => &c.key.project == p,
            ProjectScope::Nothing => false,
        };
        project_ok
            && self.kind.is_none_or(|k| k == c.key.kind)
            && self.name.as_deref().is_none_or(|n| n == c.key.name)
    }
}

struct ChangeStream {
    store: Arc<dyn Store>,
    /// Over a WebSocket: the connection's token, checked before each delivery.
    session: Option<Arc<super::Session>>,
    filter: ChangeFilter,
    cursor: ChangeCursor,
    pending: VecDeque<Change>,
    shutdown: watch::Receiver<bool>,
    failed: bool,
}

impl ChangeStream {
    /// The next change to deliver; `None` at shutdown, or after an error (a store failure,
    /// or a subscriber so far behind that the changes it had not read were pruned: it must
    /// subscribe again and re-read the resources, since some changes are lost to it).
    async fn next(&mut self) -> Option<Result<ResourceChange, ApiError>> {
        if self.failed {
            return None;
        }
        loop {
            if *self.shutdown.borrow() {
                return None;
            }
            if let Some(change) = self.pending.pop_front() {
                if let Some(session) = &self.session {
                    match session.verify().await {
                        Ok(true) => {}
                        Ok(false) => {
                            self.failed = true;
                            return Some(Err(ApiError::InvalidToken));
                        }
                        Err(e) => {
                            self.failed = true;
                            return Some(Err(e));
                        }
                    }
                }
                let resource = match change.op {
                    crate::store::ChangeOp::Delete => None,
                    crate::store::ChangeOp::Upsert => match self.store.get(&change.key).await {
                        Ok(r) => r.map(ResourceObject),
                        Err(e) => {
                            self.failed = true;
                            return Some(Err(ApiError::from_store(e)));
                        }
                    },
                };
                return Some(Ok(ResourceChange {
                    change_id: change.id,
                    op: change.op.into(),
                    kind: change.key.kind.into(),
                    name: change.key.name,
                    project: change.key.project,
                    resource,
                }));
            }
            let batch = tokio::select! {
                b = self.cursor.next_batch(CHANGE_BATCH) => b,
                _ = self.shutdown.changed() => return None,
            };
            match batch {
                Ok(changes) => self
                    .pending
                    .extend(changes.into_iter().filter(|c| self.filter.matches(c))),
                Err(e) => {
                    self.failed = true;
                    return Some(Err(match e {
                        StoreError::Expired { after, oldest } => ApiError::Expired(format!(
                            "this subscription fell behind: the changes after {after} were pruned (the oldest kept is {oldest}); subscribe again and re-read the resources"
                        )),
                        e => ApiError::from_store(e),
                    }));
                }
            }
        }
    }
}

/// The root of subscriptions (over WebSocket at `/graphql`).
#[derive(Debug, Default)]
pub struct SubscriptionRoot;

/// Live changes.
#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// Every change of the caller's resources from now on (optionally one kind, one name),
    /// with the resource as stored when delivered: a dashboard sees a Function go from
    /// PENDING to READY without polling. Without `project`, a project token follows its
    /// project and an admin token every project.
    async fn resource_changed(
        &self,
        ctx: &Context<'_>,
        kind: Option<GqlKind>,
        name: Option<String>,
        project: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<ResourceChange>>> {
        let start = gql(async {
            let (api, c) = (ApiContext::get(ctx)?, caller(ctx)?);
            let cursor = api
                .store
                .latest_change()
                .await
                .map_err(ApiError::from_store)?;
            Ok((api, c, cursor))
        });
        let (api, c, cursor) = start.await?;
        let state = ChangeStream {
            store: api.store.clone(),
            session: ctx.data_opt::<Arc<super::Session>>().cloned(),
            filter: ChangeFilter {
                scope: c.list_scope(project.as_deref()),
                kind: kind.map(Into::into),
                name,
            },
            cursor: api.feed.cursor(cursor),
            pending: VecDeque::new(),
            shutdown: api.shutdown.clone(),
            failed: false,
        };
        Ok(futures::stream::unfold(state, |mut s| async move {
            let item = s.next().await?;
            Some((item.map_err(|e| e.to_graphql()), s))
        }))
    }
}

/// Limits a schema enforces on every operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    /// Deepest selection nesting allowed.
    pub max_depth: usize,
    /// Largest complexity allowed (each field 1; lists multiply by their `limit`; fields
    /// that render or join cost more, see [`RENDER_COST`](super::types::RENDER_COST)).
    pub max_complexity: usize,
    /// The most aliased fields in one request.
    pub max_aliases: usize,
    /// The most mutations (root fields of mutation operations) in one request.
    pub max_mutations: usize,
}

impl Default for QueryLimits {
    fn default() -> Self {
        // Depth 15 leaves room for GraphiQL's introspection query (13 deep).
        QueryLimits {
            max_depth: 15,
            max_complexity: 20_000,
            max_aliases: 100,
            max_mutations: 20,
        }
    }
}

fn builder() -> SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    Schema::build(QueryRoot, MutationRoot, SubscriptionRoot)
}

/// Builds the schema over a context, with limits and, optionally, an extension (the
/// per-operation rate limit of WebSocket connections).
pub fn build(
    context: ApiContext,
    limits: QueryLimits,
    extension: Option<impl async_graphql::extensions::ExtensionFactory>,
) -> ApiSchema {
    let mut b = builder()
        .data(context)
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity);
    if let Some(e) = extension {
        b = b.extension(e);
    }
    b.finish()
}

/// The schema in SDL: the content of `schema.graphql`.
pub fn sdl() -> String {
    builder().finish().sdl()
}
