//! A hub pair's behaviour, on both hubs: the leader proposes a pair and the helper's staff
//! answer; groups send each hub its own share of a report; once a period's deadline has passed
//! the leader starts the checks, the helper gives its verdicts, and each batch (segment and
//! period) with at least m groups is released once: each hub adds its own noise to its
//! aggregate share before that share leaves it, and the leader adds the two into the sums.
//! Every step is an activity in the outbox, written in the transaction of the change that
//! causes it, so a hub that is down gets its steps when it is back, and every step is
//! idempotent at the receiver (a step already taken changes nothing).

use std::collections::BTreeMap;

use activitypub_federation::config::Data;
use activitypub_federation::kinds::activity::{AcceptType, CreateType, OfferType, RejectType};
use activitypub_federation::traits::Activity;
use chrono::{DateTime, Utc};
use hearth_core::InstanceRole;
use hearth_core::pair::{
    Accumulator, Checked, HubRole, PairPlan, VERIFY_KEY_LEN, Verifier, unshard,
};
use hearth_core::report::{ReportPeriod, TrueCounts};
use hearth_core::sharing::{Cadence, SignalSet};
use hearth_db::{
    HubPair, MembershipState, NewPair, NewPairShare, PairBatch, PairRelease, PairState, ShareState,
    ShareStored,
};
use url::Url;

use crate::actor::Peer;
use crate::protocol::pair::{
    AcceptPair, CreatePair, CreatePairAggregateShare, CreatePairAggregation, CreatePairCollection,
    CreatePairShare, CreatePairVerdicts, EndPair, HubPairObject, OfferPair, PairAggregateShare,
    PairAggregateShareObject, PairAggregation, PairAggregationObject, PairCollection,
    PairCollectionObject, PairVerdicts, PairVerdictsObject, REPORTS_PER_STEP, RejectPair,
    ReportToCheck, Verdict, decode, decode_nonce, decode_verify_key, encode,
};
use crate::sending::{new_activity_id, outbox_item};
use crate::{FedContext, FedError};

fn require_hub(data: &FedContext) -> Result<(), FedError> {
    if data.role == InstanceRole::Hub {
        Ok(())
    } else {
        Err(FedError::NotAllowed("hub pairs are between hubs".into()))
    }
}

fn pair_error(e: hearth_core::pair::PairError) -> FedError {
    FedError::Invalid(e.to_string())
}

fn verifier(pair: &HubPair) -> Result<Verifier, FedError> {
    Ok(Verifier::new(
        pair.role,
        decode_verify_key(&pair.verify_key)?,
    ))
}

/// The accepted pair `pair_url` in which `actor` is the other hub and this hub has `role`.
async fn pair_from(
    data: &FedContext,
    pair_url: &Url,
    actor: &Url,
    role: HubRole,
) -> Result<HubPair, FedError> {
    require_hub(data)?;
    match data.db.pair_by_url(pair_url.as_str()).await? {
        Some(p)
            if p.state == PairState::Accepted
                && p.role == role
                && p.other.actor_url == actor.as_str() =>
        {
            Ok(p)
        }
        _ => Err(FedError::NotAllowed(
            "no such pair with the sending hub".into(),
        )),
    }
}

fn create<T>(data: &FedContext, kind: &str, to: &Url, object: T) -> (Url, CreatePair<T>) {
    let id = new_activity_id(data, kind);
    (
        id.clone(),
        CreatePair {
            id,
            kind: CreateType::Create,
            actor: data.actor_url(),
            to: vec![to.clone()],
            object,
        },
    )
}

/// The leader's staff propose a pair to `helper`, which must be a hub. The verify key is made
/// here and travels only in the `Offer` to the helper.
pub async fn propose(
    data: &FedContext,
    helper: &Peer,
    plan: PairPlan,
    min_groups: u32,
) -> Result<HubPair, FedError> {
    require_hub(data)?;
    if helper.kind != crate::protocol::ActorKind::Service || helper.id == data.actor_url() {
        return Err(FedError::Invalid("a pair's helper is another hub".into()));
    }
    let mut key = [0u8; VERIFY_KEY_LEN];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
    let pair_url = data.url(&format!("/pairs/{}", encode(&key[..12])));
    let mut object = HubPairObject::new(
        pair_url.clone(),
        data.actor_url(),
        helper.id.clone(),
        &plan,
        min_groups,
    );
    object.plan()?;
    object.verify_key = Some(encode(&key));
    let id = new_activity_id(data, "offer");
    let offer = OfferPair {
        id: id.clone(),
        kind: OfferType::Offer,
        actor: data.actor_url(),
        to: vec![helper.id.clone()],
        object,
    };
    let item = outbox_item(&offer, &id, "Offer", &helper.inbox)?;
    let pair = data
        .db
        .save_pair(
            &helper.to_new_peer(data.now()),
            &NewPair {
                pair_url: pair_url.to_string(),
                role: HubRole::Leader,
                verify_key: encode(&key),
                plan,
                min_groups,
            },
            &[item],
            data.now(),
        )
        .await?;
    data.wake_outbox();
    tracing::info!(pair = %pair_url, helper = %helper.id, "hub pair proposed");
    Ok(pair)
}

/// The helper's staff take or decline a proposed pair; the leader hears it.
pub async fn decide(data: &FedContext, pair_id: i64, accept: bool) -> Result<(), FedError> {
    let pair = data
        .db
        .pair(pair_id)
        .await?
        .ok_or_else(|| FedError::Invalid("no such pair".into()))?;
    if pair.role != HubRole::Helper || pair.state != PairState::Proposed {
        return Err(FedError::Invalid(
            "this pair is not waiting for an answer".into(),
        ));
    }
    let leader = Peer::from_row(&pair.other)?;
    // The key stays out of the answer: it went one way, once.
    let object = HubPairObject::new(
        Url::parse(&pair.pair_url).map_err(|e| FedError::Invalid(e.to_string()))?,
        leader.id.clone(),
        data.actor_url(),
        &pair.plan,
        pair.min_groups,
    );
    // The answer names the offer by its pair; the leader checks it against what it sent.
    let offer = OfferPair {
        id: object.id.clone(),
        kind: OfferType::Offer,
        actor: leader.id.clone(),
        to: vec![data.actor_url()],
        object,
    };
    let id = new_activity_id(data, if accept { "accept" } else { "reject" });
    let item = if accept {
        let a = AcceptPair {
            id: id.clone(),
            kind: AcceptType::Accept,
            actor: data.actor_url(),
            to: vec![leader.id.clone()],
            object: offer,
        };
        outbox_item(&a, &id, "Accept", &leader.inbox)?
    } else {
        let r = RejectPair {
            id: id.clone(),
            kind: RejectType::Reject,
            actor: data.actor_url(),
            to: vec![leader.id.clone()],
            object: offer,
        };
        outbox_item(&r, &id, "Reject", &leader.inbox)?
    };
    let to = if accept {
        PairState::Accepted
    } else {
        PairState::Declined
    };
    if !data
        .db
        .change_pair(pair.id, &[PairState::Proposed], to, &[item], data.now())
        .await?
    {
        return Err(FedError::Invalid("this pair was answered already".into()));
    }
    data.wake_outbox();
    tracing::info!(pair = %pair.pair_url, state = to.as_str(), "hub pair answered");
    Ok(())
}

/// A group's side, at once: splits its exact counts for `period` into the two hubs' shares
/// and queues each, signed, for its own hub, with no audit-log row (see
/// [`crate::group_pairs`] for the report maker's path).
pub async fn send_shares(
    data: &FedContext,
    pair_url: &Url,
    leader: &Peer,
    helper: &Peer,
    period: ReportPeriod,
    counts: &TrueCounts,
    signals: SignalSet,
) -> Result<(), FedError> {
    let (items, _) =
        crate::group_pairs::share_items(data, (pair_url, signals), leader, helper, period, counts)?;
    data.db.enqueue(&items, data.now()).await?;
    data.wake_outbox();
    Ok(())
}

/// Staff of either hub end a pair (the leader may also withdraw an offer not yet answered):
/// nothing more is checked or released, and the other hub hears it. What was released stays.
pub async fn end(data: &FedContext, pair_id: i64) -> Result<(), FedError> {
    require_hub(data)?;
    let pair = data
        .db
        .pair(pair_id)
        .await?
        .ok_or_else(|| FedError::Invalid("no such pair".into()))?;
    let other = Peer::from_row(&pair.other)?;
    let pair_url = Url::parse(&pair.pair_url).map_err(|e| FedError::Invalid(e.to_string()))?;
    let (leader, helper) = match pair.role {
        HubRole::Leader => (data.actor_url(), other.id.clone()),
        HubRole::Helper => (other.id.clone(), data.actor_url()),
    };
    let id = new_activity_id(data, "delete");
    let end = EndPair {
        id: id.clone(),
        kind: activitypub_federation::kinds::activity::DeleteType::Delete,
        actor: data.actor_url(),
        to: vec![other.id.clone()],
        object: HubPairObject::new(pair_url, leader, helper, &pair.plan, pair.min_groups),
    };
    let item = outbox_item(&end, &id, "Delete", &other.inbox)?;
    let from: &[PairState] = match pair.role {
        HubRole::Leader => &[PairState::Proposed, PairState::Accepted],
        HubRole::Helper => &[PairState::Accepted],
    };
    if !data
        .db
        .change_pair(pair.id, from, PairState::Ended, &[item], data.now())
        .await?
    {
        return Err(FedError::Invalid("this pair cannot be ended now".into()));
    }
    data.wake_outbox();
    tracing::info!(pair = %pair.pair_url, "hub pair ended");
    Ok(())
}

#[async_trait::async_trait]
impl Activity for EndPair {
    type DataType = FedContext;
    type Error = FedError;
    fn id(&self) -> &Url {
        &self.id
    }
    fn actor(&self) -> &Url {
        &self.actor
    }
    async fn verify(&self, data: &Data<FedContext>) -> Result<(), FedError> {
        require_hub(data)?;
        if self.actor != self.object.leader && self.actor != self.object.helper {
            return Err(FedError::Invalid("only a hub of the pair ends it".into()));
        }
        Ok(())
    }
    /// The pair ends here too; ending it again changes nothing.
    async fn receive(self, data: &Data<FedContext>) -> Result<(), FedError> {
        let Some(pair) = data.db.pair_by_url(self.object.id.as_str()).await? else {
            return Err(FedError::NotAllowed("no such pair".into()));
        };
        if pair.other.actor_url != self.actor.as_str() {
            return Err(FedError::NotAllowed(
                "no such pair with the sending hub".into(),
            ));
        }
        data.db
            .change_pair(
                pair.id,
                &[PairState::Proposed, PairState::Accepted],
                PairState::Ended,
                &[],
                data.now(),
            )
            .await?;
        tracing::info!(pair = %pair.pair_url, "hub pair ended by the other hub");
        Ok(())
    }
}

/// The accepted pairs this hub leads, as its actor document lists them for its groups: the
/// plan and the helper, never the verify key.
pub async fn led_pairs(data: &FedContext) -> Result<Vec<HubPairObject>, FedError> {
    let mut out = Vec::new();
    for p in data.db.pairs().await? {
        if p.role == HubRole::Leader && p.state == PairState::Accepted {
            out.push(HubPairObject::new(
                Url::parse(&p.pair_url).map_err(|e| FedError::Invalid(e.to_string()))?,
                data.actor_url(),
                Url::parse(&p.other.actor_url).map_err(|e| FedError::Invalid(e.to_string()))?,
                &p.plan,
                p.min_groups,
            ));
        }
    }
    Ok(out)
}

/// The leader's job: for each accepted pair it leads, every period past its deadline whose
/// shares are not yet checked is sent to the helper, up to [`REPORTS_PER_STEP`] a step.
pub async fn run_due(data: &FedContext, now: DateTime<Utc>) -> Result<usize, FedError> {
    if data.role != InstanceRole::Hub {
        return Ok(0);
    }
    let mut steps = 0;
    for pair in data.db.pairs().await? {
        if pair.role != HubRole::Leader || pair.state != PairState::Accepted {
            continue;
        }
        let verifier = verifier(&pair)?;
        let helper = Peer::from_row(&pair.other)?;
        let pair_url = Url::parse(&pair.pair_url).map_err(|e| FedError::Invalid(e.to_string()))?;
        for period in data.db.pair_periods_waiting(pair.id).await? {
            let Ok(p) = period.parse::<ReportPeriod>() else {
                continue;
            };
            if crate::summaries::due_at(p) > now {
                continue;
            }
            let shares = data.db.pair_shares(pair.id, &period).await?;
            let waiting: Vec<_> = shares
                .iter()
                .filter(|s| s.state == ShareState::Received)
                .collect();
            let mut refused = Vec::new();
            for chunk in waiting.chunks(REPORTS_PER_STEP) {
                let mut reports = Vec::new();
                for s in chunk {
                    let started = decode_nonce(&s.nonce).and_then(|nonce| {
                        verifier
                            .start(
                                &nonce,
                                &decode(&s.public_share, "publicShare")?,
                                &decode(&s.input_share, "inputShare")?,
                            )
                            .map_err(pair_error)
                    });
                    match started {
                        Ok(st) => reports.push(ReportToCheck {
                            nonce: s.nonce.clone(),
                            verifier_share: encode(&st.verifier_share),
                        }),
                        // A share that does not even decode here is refused at once.
                        Err(_) => refused.push((s.nonce.clone(), None)),
                    }
                }
                if reports.is_empty() {
                    continue;
                }
                let nonces: Vec<String> = reports.iter().map(|r| r.nonce.clone()).collect();
                let (id, activity) = create(
                    data,
                    "create",
                    &helper.id,
                    PairAggregationObject {
                        kind: PairAggregation::PairAggregation,
                        id: data.url(&format!("/pairs/steps/{}", encode(&rand_bytes()))),
                        pair: pair_url.clone(),
                        period: period.clone(),
                        reports,
                    },
                );
                let item = outbox_item(&activity, &id, "Create", &helper.inbox)?;
                data.db
                    .mark_pair_shares_sent(pair.id, &nonces, &[item], now)
                    .await?;
                steps += 1;
            }
            if !refused.is_empty() {
                data.db
                    .decide_pair_shares(pair.id, &refused, &[], now)
                    .await?;
            }
            tracing::info!(pair = %pair.pair_url, %period, reports = waiting.len(), "pair aggregation started");
        }
    }
    if steps > 0 {
        data.wake_outbox();
    }
    Ok(steps)
}

fn rand_bytes() -> [u8; 16] {
    let mut b = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
    b
}

/// At the leader, once every share of `period` has its verdict: each segment's batch with at
/// least m checked reports is summed, noised, kept, and asked of the helper.
async fn release_batches(data: &FedContext, pair: &HubPair, period: &str) -> Result<(), FedError> {
    let shares = data.db.pair_shares(pair.id, period).await?;
    if shares
        .iter()
        .any(|s| matches!(s.state, ShareState::Received | ShareState::Sent))
    {
        return Ok(());
    }
    let mut batches: BTreeMap<String, Vec<&hearth_db::PairShare>> = BTreeMap::new();
    for s in shares.iter().filter(|s| s.state == ShareState::Checked) {
        // The batches a report enters are decided here, by the group's profile at the leader.
        let Some(peer) = data.db.peer_by_id(s.peer_id).await? else {
            continue;
        };
        for segment in pair.plan.segments_of(&peer.group_profile()) {
            batches.entry(segment.key()).or_default().push(s);
        }
    }
    let helper = Peer::from_row(&pair.other)?;
    let pair_url = Url::parse(&pair.pair_url).map_err(|e| FedError::Invalid(e.to_string()))?;
    for (segment, members) in batches {
        if members.len() < pair.min_groups as usize {
            tracing::info!(pair = %pair.pair_url, %period, %segment, "batch below m groups: not released");
            continue;
        }
        let mut sum = Accumulator::default();
        for s in &members {
            let bytes = decode(s.output_share.as_deref().unwrap_or(""), "outputShare")?;
            sum.add(&Checked::from_bytes(&bytes).map_err(pair_error)?);
        }
        let reports = sum.reports();
        let nonces: Vec<String> = members.iter().map(|s| s.nonce.clone()).collect();
        let batch = PairBatch {
            segment: segment.clone(),
            period: period.to_owned(),
            reports,
            aggregate_share: encode(&sum.release(pair.plan.sigma, &mut rand::rngs::OsRng)),
        };
        let (id, activity) = create(
            data,
            "create",
            &helper.id,
            PairCollectionObject {
                kind: PairCollection::PairCollection,
                id: data.url(&format!("/pairs/steps/{}", encode(&rand_bytes()))),
                pair: pair_url.clone(),
                period: period.to_owned(),
                segment,
                nonces: nonces.clone(),
            },
        );
        let item = outbox_item(&activity, &id, "Create", &helper.inbox)?;
        // Asked of the helper once: only with the first save of the batch.
        data.db
            .save_pair_batch(pair.id, &batch, &nonces, &[item], data.now())
            .await?;
    }
    data.wake_outbox();
    Ok(())
}

#[async_trait::async_trait]
impl Activity for OfferPair {
    type DataType = FedContext;
    type Error = FedError;
    fn id(&self) -> &Url {
        &self.id
    }
    fn actor(&self) -> &Url {
        &self.actor
    }
    async fn verify(&self, data: &Data<FedContext>) -> Result<(), FedError> {
        require_hub(data)?;
        if self.object.leader != self.actor
            || self.object.helper != data.actor_url()
            || self.object.id.host_str() != self.actor.host_str()
        {
            return Err(FedError::Invalid("the offer is not this pair's".into()));
        }
        decode_verify_key(self.object.verify_key.as_deref().unwrap_or(""))?;
        self.object.plan().map(drop)
    }
    /// Kept for the helper's staff to answer.
    async fn receive(self, data: &Data<FedContext>) -> Result<(), FedError> {
        let leader =
            activitypub_federation::fetch::object_id::ObjectId::<Peer>::from(self.actor.clone())
                .dereference(data)
                .await?;
        if leader.kind != crate::protocol::ActorKind::Service {
            return Err(FedError::NotAllowed("only a hub can offer a pair".into()));
        }
        let (plan, min_groups) = self.object.plan()?;
        data.db
            .save_pair(
                &leader.to_new_peer(data.now()),
                &NewPair {
                    pair_url: self.object.id.to_string(),
                    role: HubRole::Helper,
                    verify_key: self.object.verify_key.clone().unwrap_or_default(),
                    plan,
                    min_groups,
                },
                &[],
                data.now(),
            )
            .await?;
        tracing::info!(pair = %self.object.id, leader = %self.actor, "hub pair offered");
        Ok(())
    }
}

/// The leader hears the helper's answer to its offer.
async fn answered(
    data: &FedContext,
    actor: &Url,
    offer: &OfferPair,
    to: PairState,
) -> Result<(), FedError> {
    require_hub(data)?;
    let pair = data
        .db
        .pair_by_url(offer.object.id.as_str())
        .await?
        .filter(|p| p.role == HubRole::Leader && p.other.actor_url == actor.as_str())
        .ok_or_else(|| FedError::NotAllowed("no pair was offered to this hub".into()))?;
    data.db
        .change_pair(pair.id, &[PairState::Proposed], to, &[], data.now())
        .await?;
    tracing::info!(pair = %pair.pair_url, state = to.as_str(), "hub pair answered");
    Ok(())
}

macro_rules! answer_activity {
    ($t:ty, $state:expr) => {
        #[async_trait::async_trait]
        impl Activity for $t {
            type DataType = FedContext;
            type Error = FedError;
            fn id(&self) -> &Url {
                &self.id
            }
            fn actor(&self) -> &Url {
                &self.actor
            }
            async fn verify(&self, data: &Data<FedContext>) -> Result<(), FedError> {
                require_hub(data)?;
                if self.object.object.helper != self.actor {
                    return Err(FedError::Invalid("only the helper answers".into()));
                }
                Ok(())
            }
            async fn receive(self, data: &Data<FedContext>) -> Result<(), FedError> {
                answered(data, &self.actor, &self.object, $state).await
            }
        }
    };
}
answer_activity!(AcceptPair, PairState::Accepted);
answer_activity!(RejectPair, PairState::Declined);

#[async_trait::async_trait]
impl Activity for CreatePairShare {
    type DataType = FedContext;
    type Error = FedError;
    fn id(&self) -> &Url {
        &self.id
    }
    fn actor(&self) -> &Url {
        &self.actor
    }
    async fn verify(&self, data: &Data<FedContext>) -> Result<(), FedError> {
        require_hub(data)?;
        self.object.check(&self.actor, &data.actor_url()).map(drop)
    }
    /// Stored once per group and period, until the period's aggregation begins. At the leader
    /// only a member group's share counts; the helper takes any group's, since only the
    /// shares the leader names are ever checked and summed.
    async fn receive(self, data: &Data<FedContext>) -> Result<(), FedError> {
        let pair = data
            .db
            .pair_by_url(self.object.pair.as_str())
            .await?
            .filter(|p| p.state == PairState::Accepted)
            .ok_or_else(|| FedError::NotAllowed("no such pair at this hub".into()))?;
        let period: ReportPeriod = self
            .object
            .period
            .parse()
            .map_err(|_| FedError::Invalid("not a period".into()))?;
        if matches!(period, ReportPeriod::Week(_)) != (pair.plan.cadence == Cadence::Week) {
            return Err(FedError::Invalid(
                "the share's period is not of the pair's cadence".into(),
            ));
        }
        let group = match pair.role {
            HubRole::Leader => match data.db.membership_by_actor(self.actor.as_str()).await? {
                Some(m) if m.state == MembershipState::Accepted => m.peer,
                _ => {
                    return Err(FedError::NotAllowed(
                        "only member groups may share through this hub's pairs".into(),
                    ));
                }
            },
            HubRole::Helper => {
                let peer = activitypub_federation::fetch::object_id::ObjectId::<Peer>::from(
                    self.actor.clone(),
                )
                .dereference(data)
                .await?;
                if peer.kind != crate::protocol::ActorKind::Group {
                    return Err(FedError::NotAllowed("only groups send shares".into()));
                }
                match data.db.peer_by_url(self.actor.as_str()).await? {
                    Some(p) => p,
                    None => data.db.save_peer(&peer.to_new_peer(data.now())).await?,
                }
            }
        };
        let stored = data
            .db
            .store_pair_share(
                pair.id,
                group.id,
                &NewPairShare {
                    period: self.object.period.clone(),
                    nonce: self.object.nonce.clone(),
                    public_share: self.object.public_share.clone(),
                    input_share: self.object.input_share.clone(),
                },
                data.now(),
            )
            .await?;
        tracing::info!(pair = %pair.pair_url, period = %self.object.period, ?stored, "pair share received");
        match stored {
            ShareStored::New | ShareStored::Replayed => Ok(()),
            ShareStored::Duplicate => Err(FedError::Invalid(
                "this group already sent a share for this period".into(),
            )),
            ShareStored::Late => Err(FedError::Invalid(
                "this period's aggregation has begun".into(),
            )),
        }
    }
}

/// A DAP-shaped step between the two hubs: the sender must be the other hub of an accepted
/// pair in which this hub has `$role`; `$receive` takes the step.
macro_rules! pair_step {
    ($t:ty, $role:expr, $receive:ident) => {
        #[async_trait::async_trait]
        impl Activity for $t {
            type DataType = FedContext;
            type Error = FedError;
            fn id(&self) -> &Url {
                &self.id
            }
            fn actor(&self) -> &Url {
                &self.actor
            }
            async fn verify(&self, data: &Data<FedContext>) -> Result<(), FedError> {
                self.object.check()?;
                pair_from(data, &self.object.pair, &self.actor, $role)
                    .await
                    .map(drop)
            }
            async fn receive(self, data: &Data<FedContext>) -> Result<(), FedError> {
                $receive(data, self).await
            }
        }
    };
}

pair_step!(CreatePairAggregation, HubRole::Helper, check_at_helper);

/// The helper checks each named report with the leader's verifier share and answers with
/// its verdicts. A report it does not hold, or whose proof fails, is refused.
async fn check_at_helper(
    data: &Data<FedContext>,
    step: CreatePairAggregation,
) -> Result<(), FedError> {
    let pair = pair_from(data, &step.object.pair, &step.actor, HubRole::Helper).await?;
    let verifier = verifier(&pair)?;
    let mut verdicts = Vec::new();
    let mut outcomes = Vec::new();
    for r in &step.object.reports {
        let share = data.db.pair_share(pair.id, &r.nonce).await?;
        let decided = match share {
            Some(s) if s.period == step.object.period && s.state != ShareState::Refused => {
                let nonce = decode_nonce(&r.nonce)?;
                let started = verifier
                    .start(
                        &nonce,
                        &decode(&s.public_share, "publicShare")?,
                        &decode(&s.input_share, "inputShare")?,
                    )
                    .map_err(pair_error);
                let leader_share = decode(&r.verifier_share, "verifierShare")?;
                started.and_then(|st| verifier.decide(st, &leader_share).map_err(pair_error))
            }
            _ => Err(FedError::Invalid("no such share here".into())),
        };
        match decided {
            Ok((checked, message)) => {
                outcomes.push((r.nonce.clone(), Some(encode(&checked.to_bytes()))));
                verdicts.push(Verdict {
                    nonce: r.nonce.clone(),
                    message: Some(encode(&message)),
                });
            }
            Err(_) => {
                outcomes.push((r.nonce.clone(), None));
                verdicts.push(Verdict {
                    nonce: r.nonce.clone(),
                    message: None,
                });
            }
        }
    }
    let leader = Peer::from_row(&pair.other)?;
    let (id, activity) = create(
        data,
        "create",
        &leader.id,
        PairVerdictsObject {
            kind: PairVerdicts::PairVerdicts,
            id: data.url(&format!("/pairs/steps/{}", encode(&rand_bytes()))),
            pair: step.object.pair.clone(),
            period: step.object.period.clone(),
            verdicts,
        },
    );
    let item = outbox_item(&activity, &id, "Create", &leader.inbox)?;
    data.db
        .decide_pair_shares(pair.id, &outcomes, &[item], data.now())
        .await?;
    data.wake_outbox();
    Ok(())
}

pair_step!(CreatePairVerdicts, HubRole::Leader, finish_at_leader);

/// The leader finishes each report the helper passed (its own check must pass too), then
/// releases the period's batches once every report has its verdict.
async fn finish_at_leader(
    data: &Data<FedContext>,
    step: CreatePairVerdicts,
) -> Result<(), FedError> {
    let pair = pair_from(data, &step.object.pair, &step.actor, HubRole::Leader).await?;
    let verifier = verifier(&pair)?;
    let mut outcomes = Vec::new();
    for v in &step.object.verdicts {
        let Some(share) = data.db.pair_share(pair.id, &v.nonce).await? else {
            continue;
        };
        if share.period != step.object.period || share.state != ShareState::Sent {
            continue;
        }
        let finished = match &v.message {
            Some(m) => {
                let nonce = decode_nonce(&v.nonce)?;
                let message = decode(m, "message")?;
                verifier
                    .start(
                        &nonce,
                        &decode(&share.public_share, "publicShare")?,
                        &decode(&share.input_share, "inputShare")?,
                    )
                    .and_then(|st| verifier.finish(st, &message))
                    .ok()
            }
            None => None,
        };
        outcomes.push((v.nonce.clone(), finished.map(|c| encode(&c.to_bytes()))));
    }
    data.db
        .decide_pair_shares(pair.id, &outcomes, &[], data.now())
        .await?;
    release_batches(data, &pair, &step.object.period).await
}

pair_step!(CreatePairCollection, HubRole::Helper, release_at_helper);

/// The helper releases its share of one batch, once: at least m reports, every one checked
/// here, none of them already released in another batch of the same dimension.
async fn release_at_helper(
    data: &Data<FedContext>,
    step: CreatePairCollection,
) -> Result<(), FedError> {
    let pair = pair_from(data, &step.object.pair, &step.actor, HubRole::Helper).await?;
    let o = &step.object;
    if data
        .db
        .pair_batch(pair.id, &o.segment, &o.period)
        .await?
        .is_some()
    {
        return Err(FedError::Invalid("this batch was released already".into()));
    }
    let mut unique = o.nonces.clone();
    unique.sort();
    unique.dedup();
    if unique.len() != o.nonces.len() || unique.len() < pair.min_groups as usize {
        return Err(FedError::Invalid(format!(
            "a batch needs at least {} different reports",
            pair.min_groups
        )));
    }
    let dimension = |segment: &str| segment.split(':').next().unwrap_or("").to_owned();
    let mut sum = Accumulator::default();
    for nonce in &o.nonces {
        let share = data
            .db
            .pair_share(pair.id, nonce)
            .await?
            .filter(|s| s.period == o.period && s.state == ShareState::Checked)
            .ok_or_else(|| FedError::Invalid("a report in the batch is not checked here".into()))?;
        if share
            .batches
            .iter()
            .any(|b| dimension(b) == dimension(&o.segment))
        {
            return Err(FedError::Invalid(
                "a report in the batch was released in this dimension already".into(),
            ));
        }
        let bytes = decode(share.output_share.as_deref().unwrap_or(""), "outputShare")?;
        sum.add(&Checked::from_bytes(&bytes).map_err(pair_error)?);
    }
    let batch = PairBatch {
        segment: o.segment.clone(),
        period: o.period.clone(),
        reports: sum.reports(),
        aggregate_share: encode(&sum.release(pair.plan.sigma, &mut rand::rngs::OsRng)),
    };
    let leader = Peer::from_row(&pair.other)?;
    let (id, activity) = create(
        data,
        "create",
        &leader.id,
        PairAggregateShareObject {
            kind: PairAggregateShare::PairAggregateShare,
            id: data.url(&format!("/pairs/steps/{}", encode(&rand_bytes()))),
            pair: o.pair.clone(),
            period: o.period.clone(),
            segment: o.segment.clone(),
            reports: batch.reports,
            aggregate_share: batch.aggregate_share.clone(),
        },
    );
    let item = outbox_item(&activity, &id, "Create", &leader.inbox)?;
    let (_, new) = data
        .db
        .save_pair_batch(pair.id, &batch, &o.nonces, &[item], data.now())
        .await?;
    if !new {
        return Err(FedError::Invalid("this batch was released already".into()));
    }
    data.wake_outbox();
    tracing::info!(pair = %pair.pair_url, period = %o.period, segment = %o.segment, "pair batch released");
    Ok(())
}

pair_step!(CreatePairAggregateShare, HubRole::Leader, sum_at_leader);

/// The leader adds the helper's share to its own: the batch's sums, kept once.
async fn sum_at_leader(
    data: &Data<FedContext>,
    step: CreatePairAggregateShare,
) -> Result<(), FedError> {
    let pair = pair_from(data, &step.object.pair, &step.actor, HubRole::Leader).await?;
    let o = &step.object;
    let own = data
        .db
        .pair_batch(pair.id, &o.segment, &o.period)
        .await?
        .ok_or_else(|| FedError::Invalid("this hub did not ask for that batch".into()))?;
    if own.reports != o.reports {
        return Err(FedError::Invalid(
            "the batches hold different reports".into(),
        ));
    }
    let sums = unshard(
        &decode(&own.aggregate_share, "aggregateShare")?,
        &decode(&o.aggregate_share, "aggregateShare")?,
        o.reports,
    )
    .map_err(pair_error)?;
    let released = data
        .db
        .save_pair_release(&PairRelease {
            pair_id: pair.id,
            segment: o.segment.clone(),
            period: o.period.clone(),
            groups: o.reports,
            sigma: pair.plan.sigma,
            sums: sums.values().to_vec(),
            released_at: data.now(),
        })
        .await?;
    tracing::info!(pair = %pair.pair_url, period = %o.period, segment = %o.segment, released, "pair batch summed");
    Ok(())
}
