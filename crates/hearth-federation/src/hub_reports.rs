//! A hub's side of reports: receive, validate, store, erase. `Create` stores a new report,
//! `Update` replaces the period's report, `Delete` of a group's reports collection erases them all.

use activitypub_federation::config::Data;
use activitypub_federation::traits::Activity;
use hearth_core::InstanceRole;
use hearth_db::{Membership, MembershipState};
use url::Url;

use crate::protocol::report::{
    CreateReport, DeleteReports, UpdateReport, WellbeingReport, reports_collection,
};
use crate::{FedContext, FedError};

fn require_hub(data: &FedContext, what: &str) -> Result<(), FedError> {
    if data.role == InstanceRole::Hub {
        Ok(())
    } else {
        Err(FedError::NotAllowed(format!(
            "{what} is only accepted by a hub"
        )))
    }
}

/// Checks what every report activity must satisfy at a hub: addressed to this hub, the object
/// the sender's own and on its own domain, the sender an accepted member group. `sender` is the
/// sender's membership when the inbox has already read it; otherwise it is read here.
async fn verify_report(
    data: &FedContext,
    actor: &Url,
    to: &[Url],
    object: &WellbeingReport,
    sender: Option<&Membership>,
) -> Result<hearth_db::PeerRow, FedError> {
    require_hub(data, "A report")?;
    let hub = data.actor_url();
    if !to.contains(&hub) || !object.to.contains(&hub) {
        return Err(FedError::Invalid(
            "the report is not addressed to this hub".into(),
        ));
    }
    if object.attributed_to != *actor || object.id.host_str() != actor.host_str() {
        return Err(FedError::Invalid(
            "a group can only send its own reports".into(),
        ));
    }
    let membership = match sender.filter(|m| m.peer.actor_url == actor.as_str()) {
        Some(m) => Some(m.clone()),
        None => data.db.membership_by_actor(actor.as_str()).await?,
    };
    match membership {
        Some(m) if m.state == MembershipState::Accepted => Ok(m.peer),
        _ => Err(FedError::NotAllowed(
            "only member groups may send reports".into(),
        )),
    }
}

/// Receives a report (`replace`: an `Update`): checks it, validates it and stores it, recording
/// in the same transaction that `activity` arrived.
pub(crate) async fn receive(
    data: &FedContext,
    activity: &Url,
    actor: &Url,
    to: &[Url],
    object: &WellbeingReport,
    replace: bool,
    sender: Option<&Membership>,
) -> Result<(), FedError> {
    let peer = verify_report(data, actor, to, object, sender).await?;
    let mut received = object.validate(data.now().date_naive())?;
    // The report counts in the segments the group is in now, for good.
    received.segments = peer
        .group_profile()
        .segments()
        .iter()
        .map(hearth_core::sector::Segment::key)
        .collect();
    // The activity is recorded as received in the report's own transaction.
    let outcome = data
        .db
        .store_report_of_activity(
            peer.id,
            &received,
            replace,
            data.now(),
            Some(activity.as_str()),
        )
        .await?;
    tracing::info!(group = %actor, period = %received.period, ?outcome, "report received");
    Ok(())
}

/// `Create` and `Update` of a report differ only in whether the stored report is replaced.
macro_rules! report_activity {
    ($t:ty, $replace:expr) => {
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
                verify_report(data, &self.actor, &self.to, &self.object, None)
                    .await
                    .map(|_| ())
            }
            /// The library's path (a sender the inbox has not read): the inbox records the
            /// activity again afterwards, which changes nothing.
            async fn receive(self, data: &Data<FedContext>) -> Result<(), FedError> {
                receive(
                    data,
                    &self.id,
                    &self.actor,
                    &self.to,
                    &self.object,
                    $replace,
                    None,
                )
                .await
            }
        }
    };
}

report_activity!(CreateReport, false);
report_activity!(UpdateReport, true);

#[async_trait::async_trait]
impl Activity for DeleteReports {
    type DataType = FedContext;
    type Error = FedError;
    fn id(&self) -> &Url {
        &self.id
    }
    fn actor(&self) -> &Url {
        &self.actor
    }
    async fn verify(&self, data: &Data<FedContext>) -> Result<(), FedError> {
        require_hub(data, "Delete")?;
        if self.object != reports_collection(&self.actor) {
            return Err(FedError::Invalid(
                "a group can only ask to erase its own reports collection".into(),
            ));
        }
        Ok(())
    }
    /// Erases every report from the group, whether or not it is still a member.
    async fn receive(self, data: &Data<FedContext>) -> Result<(), FedError> {
        let Some(peer) = data.db.peer_by_url(self.actor.as_str()).await? else {
            return Ok(());
        };
        let n = data.db.erase_received_reports(peer.id).await?;
        tracing::info!(group = %&self.actor, erased = n, "reports erased on request");
        Ok(())
    }
}
