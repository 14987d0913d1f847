//! The model's own reading of each write operation (the crate docs' rules).

use std::sync::Arc;

use std::collections::BTreeSet;

use super::model::Model;
use dialogstore::{
    CustomData, DataValue, Dialog, DialogId, DialogType, DialogUpdate, MessageMeta, NewDialog,
    UserId,
};

/// What every operation needs: the clock and the room-jid settings.
pub struct Env<'a> {
    /// Unix seconds now.
    pub now: i64,
    /// `app_id` of the store.
    pub app_id: u64,
    /// `muc_domain` of the store.
    pub muc: &'a str,
}

type R<T> = Result<T, &'static str>;

fn ids(users: &[UserId]) -> Vec<UserId> {
    users.iter().copied().collect::<BTreeSet<_>>().into_iter().collect()
}

/// The text forms an undeclared class keeps, or the declared types.
fn model_data(m: &Model, data: &CustomData) -> CustomData {
    let declared = m.classes.get(&data.class_name);
    let fields = data
        .fields
        .iter()
        .map(|(k, v)| {
            let v = match (declared, v) {
                (Some(_), v) => v.clone(),
                (None, DataValue::String(s)) => DataValue::String(s.clone()),
                (None, other) => DataValue::String(other.to_string()),
            };
            (k.clone(), v)
        })
        .collect();
    CustomData { class_name: data.class_name.clone(), fields }
}

impl Model {
    fn index_of(&self, id: DialogId) -> Option<usize> {
        self.dialogs.iter().position(|d| d.id == id)
    }

    fn find_visible(&self, u: UserId, id: DialogId) -> R<usize> {
        let i = self.index_of(id).ok_or("NOT_FOUND")?;
        if !self.dialogs[i].is_visible_to(u) {
            return Err("ACCESS_ERROR");
        }
        Ok(i)
    }

    fn private_between(&self, a: UserId, b: UserId) -> Option<usize> {
        let want = ids(&[a, b]);
        self.dialogs.iter().position(|d| {
            d.dialog_type == DialogType::Private && self.peers.get(&d.id) == Some(&want)
        })
    }

    fn drop_unread(&mut self, id: DialogId, keep: &[UserId]) {
        self.unread.retain(|(u, d), _| *d != id || keep.contains(&UserId(*u)));
    }

    fn remove(&mut self, i: usize) {
        let d = self.dialogs.remove(i);
        self.peers.remove(&d.id);
        self.drop_unread(d.id, &[]);
    }

    /// Creates as the store does; `id` is the id the store gave (`None` if the store refused).
    pub fn create(
        &mut self,
        env: &Env<'_>,
        user: UserId,
        new: &NewDialog,
        id: Option<DialogId>,
    ) -> R<Dialog> {
        let private = new.dialog_type == DialogType::Private;
        if !private && new.name.as_ref().is_some_and(|n| n.chars().count() > 200) {
            return Err("VALIDATION");
        }
        let others: Vec<UserId> =
            ids(&new.occupants_ids).into_iter().filter(|u| *u != user).collect();
        let (occupants, admins) = match new.dialog_type {
            DialogType::Private => {
                if others.len() != 1 {
                    return Err("VALIDATION");
                }
                if let Some(i) = self.private_between(user, others[0]) {
                    let pair = self.peers[&self.dialogs[i].id].clone();
                    let d = &mut self.dialogs[i];
                    if *d.occupants_ids != *pair {
                        d.occupants_ids = pair.into();
                        d.updated_at = env.now;
                    }
                    let mut out = d.clone();
                    out.unread_messages_count = None;
                    return Ok(out);
                }
                (ids(&[user, others[0]]), Vec::new())
            }
            DialogType::Group => (ids(&[others.as_slice(), &[user]].concat()), Vec::new()),
            _ => {
                if !others.is_empty() {
                    return Err("VALIDATION");
                }
                (Vec::new(), vec![user])
            }
        };
        let id = id.ok_or("MODEL_SAYS_OK")?;
        let d = Dialog {
            id,
            user_id: user,
            created_at: env.now,
            updated_at: env.now,
            dialog_type: new.dialog_type,
            name: if private { None } else { new.name.as_deref().map(Into::into) },
            photo: new.photo.as_deref().map(Into::into),
            xmpp_room_jid: (!private).then(|| format!("{}_{}@{}", env.app_id, id, env.muc).into()),
            occupants_ids: occupants.clone().into(),
            admin_ids: admins.into(),
            last_message: None,
            last_message_id: None,
            last_message_date_sent: None,
            last_message_user_id: None,
            unread_messages_count: None,
            is_join_required: (new.dialog_type == DialogType::Group)
                .then(|| new.is_join_required.unwrap_or(false)),
            data: new.data.as_ref().map(|x| Arc::new(model_data(self, x))),
        };
        if private {
            self.peers.insert(id, occupants);
        }
        self.dialogs.push(d.clone());
        Ok(d)
    }

    /// Updates as the store does.
    pub fn update(
        &mut self,
        env: &Env<'_>,
        user: UserId,
        id: DialogId,
        upd: &DialogUpdate,
    ) -> R<Dialog> {
        let i = self.find_visible(user, id)?;
        let old = self.dialogs[i].clone();
        // A private dialog's name is ignored, so not checked.
        let named = old.dialog_type != DialogType::Private;
        if named && upd.name.as_ref().is_some_and(|n| n.chars().count() > 200) {
            return Err("VALIDATION");
        }
        let push_o = ids(&upd.push_all.occupants_ids.0);
        let pull_o = ids(&upd.pull_all.occupants_ids.0);
        let push_a = ids(&upd.push_all.admin_ids.0);
        let pull_a = ids(&upd.pull_all.admin_ids.0);
        let admin_change = !push_a.is_empty() || !pull_a.is_empty();
        let privileged = old.is_owner_or_admin(user);
        match old.dialog_type {
            DialogType::Private => {
                if !push_o.is_empty() || !pull_o.is_empty() || admin_change {
                    return Err("WRONG_PERMISSIONS");
                }
            }
            DialogType::PublicGroup => {
                if !push_o.is_empty() || !pull_o.is_empty() {
                    return Err("VALIDATION");
                }
                let wants =
                    upd.name.is_some() || upd.photo.is_some() || upd.data.is_some() || admin_change;
                if !privileged && wants {
                    return Err("WRONG_PERMISSIONS");
                }
            }
            _ => {
                if (pull_o.iter().any(|u| *u != user) || admin_change) && !privileged {
                    return Err("WRONG_PERMISSIONS");
                }
            }
        }
        let mut new = old.clone();
        if old.dialog_type != DialogType::Private {
            if let Some(n) = &upd.name {
                new.name = Some(n.as_str().into());
            }
        }
        if let Some(p) = &upd.photo {
            new.photo = Some(p.as_str().into());
        }
        if let Some(data) = &upd.data {
            new.data = Some(Arc::new(model_data(self, data)));
        }
        if old.dialog_type == DialogType::Group {
            let occ: Vec<UserId> = ids(&[&old.occupants_ids[..], &push_o].concat());
            new.occupants_ids = occ.into_iter().filter(|u| !pull_o.contains(u)).collect();
        }
        if old.dialog_type != DialogType::Private {
            let adm: Vec<UserId> = ids(&[&old.admin_ids[..], &push_a].concat());
            let mut adm: Vec<UserId> = adm.into_iter().filter(|u| !pull_a.contains(u)).collect();
            if old.dialog_type == DialogType::Group {
                if push_a.iter().any(|u| !new.occupants_ids.contains(u)) {
                    return Err("VALIDATION");
                }
                adm.retain(|u| new.occupants_ids.contains(u));
            }
            new.admin_ids = adm.into();
        }
        if new == old {
            return Ok(old);
        }
        new.updated_at = env.now;
        if old.dialog_type == DialogType::Group && new.occupants_ids.is_empty() {
            self.remove(i);
        } else {
            self.drop_unread(id, &new.occupants_ids);
            self.dialogs[i] = new.clone();
        }
        Ok(new)
    }

    /// Deletes as the store does: all or nothing.
    pub fn delete(&mut self, env: &Env<'_>, user: UserId, list: &[DialogId], force: bool) -> R<()> {
        if list.is_empty() || list.len() > 100 {
            return Err("VALIDATION");
        }
        let distinct: BTreeSet<DialogId> = list.iter().copied().collect();
        for id in &distinct {
            let i = self.find_visible(user, *id)?;
            let d = &self.dialogs[i];
            if force && d.user_id != user {
                return Err("WRONG_PERMISSIONS");
            }
            if !force && d.dialog_type == DialogType::PublicGroup {
                return Err("WRONG_PERMISSIONS");
            }
        }
        for id in distinct {
            let Some(i) = self.index_of(id) else { continue };
            let d = &mut self.dialogs[i];
            d.occupants_ids = d.occupants_ids.iter().copied().filter(|u| *u != user).collect();
            d.admin_ids = d.admin_ids.iter().copied().filter(|u| *u != user).collect();
            if force || d.occupants_ids.is_empty() {
                self.remove(i);
            } else {
                d.updated_at = env.now;
                let keep = d.occupants_ids.clone();
                self.drop_unread(id, &keep);
            }
        }
        Ok(())
    }

    fn apply_message(&mut self, env: &Env<'_>, i: usize, sender: UserId, msg: &MessageMeta) {
        let d = &mut self.dialogs[i];
        if d.last_message_date_sent.is_none_or(|t| msg.date_sent >= t) {
            d.last_message = Some(msg.text.chars().take(1024).collect::<String>().into());
            d.last_message_id = Some(msg.id.as_str().into());
            d.last_message_date_sent = Some(msg.date_sent);
            d.last_message_user_id = Some(sender);
        }
        d.updated_at = env.now;
        let id = d.id;
        for u in d.occupants_ids.clone().iter().copied() {
            if u != sender {
                *self.unread.entry((u.0, id)).or_insert(0) += 1;
            }
        }
    }

    /// Records a message as the store does.
    pub fn message(
        &mut self,
        env: &Env<'_>,
        id: DialogId,
        sender: UserId,
        msg: &MessageMeta,
    ) -> R<()> {
        let i = self.find_visible(sender, id)?;
        self.apply_message(env, i, sender, msg);
        Ok(())
    }

    /// Records a private message as the store does; `id` is the store's dialog id.
    pub fn private_message(
        &mut self,
        env: &Env<'_>,
        sender: UserId,
        to: UserId,
        msg: &MessageMeta,
        id: Option<DialogId>,
    ) -> R<Dialog> {
        let d = self.create(env, sender, &NewDialog::private(to), id)?;
        let i = self.index_of(d.id).ok_or("NOT_FOUND")?;
        self.apply_message(env, i, sender, msg);
        let mut out = self.dialogs[i].clone();
        out.unread_messages_count = None;
        Ok(out)
    }

    /// Marks read as the store does.
    pub fn mark_read(&mut self, id: DialogId, user: UserId) -> R<()> {
        self.find_visible(user, id)?;
        self.unread.remove(&(user.0, id));
        Ok(())
    }

    /// Imports as the store does.
    pub fn import(&mut self, env: &Env<'_>, d: &Dialog) -> R<Dialog> {
        if self.index_of(d.id).is_some() {
            return Err("VALIDATION");
        }
        let mut d = d.clone();
        d.occupants_ids = ids(&d.occupants_ids).into();
        d.admin_ids = ids(&d.admin_ids).into();
        d.unread_messages_count = None;
        let private = d.dialog_type == DialogType::Private;
        if private {
            let others: Vec<UserId> =
                d.occupants_ids.iter().copied().filter(|u| *u != d.user_id).collect();
            if others.len() != 1 || d.occupants_ids.len() > 2 || !d.admin_ids.is_empty() {
                return Err("VALIDATION");
            }
            if self.private_between(d.user_id, others[0]).is_some() {
                return Err("VALIDATION");
            }
            self.peers.insert(d.id, ids(&[d.user_id, others[0]]));
            d.name = None;
            d.xmpp_room_jid = None;
        } else {
            if d.dialog_type == DialogType::PublicGroup && !d.occupants_ids.is_empty() {
                return Err("VALIDATION");
            }
            if d.dialog_type == DialogType::Group && d.occupants_ids.is_empty() {
                return Err("VALIDATION");
            }
            if d.xmpp_room_jid.is_none() {
                d.xmpp_room_jid = Some(format!("{}_{}@{}", env.app_id, d.id, env.muc).into());
            }
        }
        if d.dialog_type != DialogType::Group {
            d.is_join_required = None;
        }
        d.data = d.data.as_ref().map(|x| Arc::new(model_data(self, x)));
        self.dialogs.push(d.clone());
        Ok(d)
    }
}
