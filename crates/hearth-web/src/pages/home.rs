use askama::Template;
use axum::extract::State;
use axum::response::Response;
use hearth_core::IsoWeek;
use tower_sessions::Session;

use super::{Nav, render};
use crate::auth::signed_in;
use crate::{AppError, AppState};

pub struct MemberHome {
    pub display_name: String,
    pub done_this_week: bool,
    pub week_label: String,
}

#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    pub nav: Nav,
    pub group_name: String,
    pub member: Option<MemberHome>,
}

pub async fn show(State(state): State<AppState>, session: Session) -> Result<Response, AppError> {
    let settings = state.settings().await?;
    let account = signed_in(&state, &session).await?;
    let member = match &account {
        Some(a) if state.role == hearth_core::InstanceRole::Group => {
            let week = IsoWeek::containing(state.clock.now(), settings.timezone);
            Some(MemberHome {
                display_name: a.display_name.clone(),
                done_this_week: state.db.own_checkin(a.id, week).await?.is_some(),
                week_label: week.human_label(),
            })
        }
        _ => None,
    };
    render(&HomePage {
        nav: Nav::for_account(&state, account.as_ref()).await?,
        group_name: settings.name,
        member,
    })
}
