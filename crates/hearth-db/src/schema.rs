//! The one schema for both databases, written by hand. `tests/flows/schema.rs` checks both migration
//! folders produce exactly these tables and columns.

diesel::table! {
    group_settings (id) {
        id -> BigInt,
        name -> Text,
        timezone -> Text,
        created_at -> Timestamp,
        description -> Text,
        close_weekday -> Integer,
        close_hour -> Integer,
        min_count -> Integer,
        region -> Nullable<Text>,
        size_band -> Nullable<Text>,
        instance_role -> Text,
        hub_auto_accept -> Bool,
    }
}

diesel::table! {
    peers (id) {
        id -> BigInt,
        actor_url -> Text,
        kind -> Text,
        name -> Text,
        inbox -> Text,
        public_key_pem -> Text,
        profile -> Text,
        fetched_at -> Timestamp,
        shared_inbox -> Nullable<Text>,
        username -> Nullable<Text>,
    }
}

diesel::table! {
    memberships (peer_id) {
        peer_id -> BigInt,
        state -> Text,
        follow_id -> Text,
        requested_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        activity_id -> Text,
        activity_type -> Text,
        inbox -> Text,
        payload -> Text,
        state -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    readers (peer_id) {
        peer_id -> BigInt,
        follow_id -> Text,
        followed_at -> Timestamp,
    }
}

diesel::table! {
    received_activities (activity_id) {
        activity_id -> Text,
        received_at -> Timestamp,
    }
}

diesel::table! {
    group_focuses (focus) {
        focus -> Text,
    }
}

diesel::table! {
    week_aggregates (week) {
        week -> Text,
        closed_at -> Timestamp,
        respondents -> Integer,
        who5_pct_sum -> Integer,
        low_wellbeing -> Integer,
        burnout -> Integer,
        time_pressure -> Integer,
        paid_sum -> Integer,
        unpaid_sum -> Integer,
        funding_sum -> Integer,
        min_count -> Integer,
    }
}

diesel::table! {
    network_consents (account_id) {
        account_id -> BigInt,
        granted -> Bool,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    accounts (id) {
        id -> BigInt,
        username -> Text,
        display_name -> Text,
        role -> Text,
        password_hash -> Text,
        created_at -> Timestamp,
        last_login_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    invites (id) {
        id -> BigInt,
        token_hash -> Text,
        role -> Text,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        used_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        account_id -> Nullable<BigInt>,
        data -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    checkins (id) {
        id -> BigInt,
        account_id -> BigInt,
        week -> Text,
        who5_1 -> Integer,
        who5_2 -> Integer,
        who5_3 -> Integer,
        who5_4 -> Integer,
        who5_5 -> Integer,
        burnout -> Integer,
        paid_hours -> Integer,
        unpaid_hours -> Integer,
        funding_hours -> Integer,
        time_pressure -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    checkin_notes (checkin_id) {
        checkin_id -> BigInt,
        note -> Text,
    }
}

diesel::table! {
    instance_keys (id) {
        id -> BigInt,
        public_pem -> Text,
        private_pem -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    hub_sharing (peer_id) {
        peer_id -> BigInt,
        enabled -> Bool,
        signals -> Text,
        cadence -> Text,
        level -> Text,
        automatic -> Bool,
        enabled_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    shared_reports (id) {
        id -> BigInt,
        hub_actor -> Text,
        hub_name -> Text,
        period -> Text,
        budget_year -> Integer,
        state -> Text,
        rho_nanos -> BigInt,
        object_id -> Nullable<Text>,
        activity -> Nullable<Text>,
        created_at -> Timestamp,
        decided_at -> Nullable<Timestamp>,
        erasure_requested_at -> Nullable<Timestamp>,
        through_pair -> Bool,
    }
}

diesel::table! {
    received_reports (id) {
        id -> BigInt,
        peer_id -> BigInt,
        object_id -> Text,
        period -> Text,
        schema_version -> Integer,
        sigma_tenths -> Integer,
        rho_nanos -> BigInt,
        received_at -> Timestamp,
        updated_at -> Timestamp,
        segments -> Text,
    }
}

diesel::table! {
    received_report_counts (report_id, signal) {
        report_id -> BigInt,
        signal -> Text,
        value -> BigInt,
    }
}

diesel::table! {
    hub_settings (id) {
        id -> BigInt,
        min_groups -> Integer,
        public_summary -> Bool,
    }
}

diesel::table! {
    alert_acks (segment, measure, period) {
        segment -> Text,
        measure -> Text,
        period -> Text,
        acknowledged_by -> Nullable<BigInt>,
        acknowledged_at -> Timestamp,
    }
}

diesel::table! {
    published_summaries (period) {
        period -> Text,
        object_id -> Text,
        published_at -> Timestamp,
        note -> Nullable<Text>,
        updated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sector_summaries (hub_actor, period) {
        hub_actor -> Text,
        period -> Text,
        hub_name -> Text,
        figures -> Text,
        received_at -> Timestamp,
    }
}

diesel::table! {
    sector_rollups (segment, measure, period) {
        segment -> Text,
        measure -> Text,
        period -> Text,
        groups -> Integer,
        respondents -> BigInt,
        total -> BigInt,
        sigma_sq_hundredths -> BigInt,
    }
}

diesel::table! {
    sector_version (id) {
        id -> BigInt,
        version -> BigInt,
    }
}

diesel::joinable!(checkins -> accounts (account_id));
diesel::joinable!(hub_sharing -> peers (peer_id));
diesel::joinable!(received_reports -> peers (peer_id));
diesel::joinable!(received_report_counts -> received_reports (report_id));
diesel::joinable!(checkin_notes -> checkins (checkin_id));
diesel::joinable!(sessions -> accounts (account_id));
diesel::joinable!(network_consents -> accounts (account_id));
diesel::joinable!(memberships -> peers (peer_id));
diesel::joinable!(readers -> peers (peer_id));

diesel::table! {
    reminder_settings (id) {
        id -> Integer,
        weekday -> Integer,
    }
}

diesel::table! {
    reminder_emails (account_id) {
        account_id -> BigInt,
        address -> Text,
        stop_token -> Text,
        created_at -> Timestamp,
        last_sent_week -> Nullable<Text>,
    }
}

diesel::table! {
    peer_old_keys (peer_id, public_key_pem) {
        peer_id -> BigInt,
        public_key_pem -> Text,
        replaced_at -> Timestamp,
    }
}

diesel::table! {
    group_pairs (id) {
        id -> BigInt,
        leader_peer_id -> BigInt,
        pair_url -> Text,
        helper_actor -> Text,
        cadence -> Text,
        dimensions -> Text,
        sigma_tenths -> Integer,
        min_groups -> Integer,
        offered -> Bool,
        enabled -> Bool,
        signals -> Text,
        automatic -> Bool,
        enabled_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    hub_pairs (id) {
        id -> BigInt,
        pair_url -> Text,
        role -> Text,
        peer_id -> BigInt,
        state -> Text,
        verify_key -> Text,
        cadence -> Text,
        dimensions -> Text,
        sigma_tenths -> Integer,
        min_groups -> Integer,
        created_at -> Timestamp,
        decided_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    pair_shares (id) {
        id -> BigInt,
        pair_id -> BigInt,
        peer_id -> BigInt,
        period -> Text,
        nonce -> Text,
        public_share -> Text,
        input_share -> Text,
        state -> Text,
        output_share -> Nullable<Text>,
        batches -> Text,
        received_at -> Timestamp,
    }
}

diesel::table! {
    pair_batches (pair_id, segment, period) {
        pair_id -> BigInt,
        segment -> Text,
        period -> Text,
        reports -> Integer,
        aggregate_share -> Text,
        released_at -> Timestamp,
    }
}

diesel::table! {
    pair_releases (pair_id, segment, period) {
        pair_id -> BigInt,
        segment -> Text,
        period -> Text,
        groups -> Integer,
        sigma_tenths -> Integer,
        sums -> Text,
        released_at -> Timestamp,
    }
}

diesel::joinable!(reminder_emails -> accounts (account_id));
diesel::joinable!(peer_old_keys -> peers (peer_id));
diesel::joinable!(hub_pairs -> peers (peer_id));
diesel::joinable!(pair_shares -> hub_pairs (pair_id));
diesel::joinable!(pair_batches -> hub_pairs (pair_id));
diesel::joinable!(pair_releases -> hub_pairs (pair_id));
diesel::joinable!(group_pairs -> peers (leader_peer_id));

diesel::allow_tables_to_appear_in_same_query!(
    group_settings,
    accounts,
    invites,
    sessions,
    checkins,
    checkin_notes,
    instance_keys,
    group_focuses,
    week_aggregates,
    network_consents,
    peers,
    memberships,
    outbox,
    received_activities,
    readers,
    hub_sharing,
    shared_reports,
    received_reports,
    received_report_counts,
    hub_settings,
    alert_acks,
    published_summaries,
    sector_summaries,
    sector_rollups,
    sector_version,
    reminder_settings,
    reminder_emails,
    peer_old_keys,
    hub_pairs,
    pair_shares,
    pair_batches,
    pair_releases,
    group_pairs,
);
