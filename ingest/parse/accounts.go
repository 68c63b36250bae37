package parse

import (
	"strings"

	"github.com/tocsin-siem/tocsin/schemas"
)

// DatasetLinuxAccounts is the dataset of the account and group messages
// that the shadow tools (useradd, usermod, passwd, gpasswd, ...) and
// pam_unix's password changes write.
const DatasetLinuxAccounts = "linux_accounts"

// Actions of account and group changes, shared by the shadow tools' own
// messages and auditd's account records.
const (
	accountsUserCreated        = "user_created"
	accountsUserDeleted        = "user_deleted"
	accountsUserModified       = "user_modified"
	accountsGroupCreated       = "group_created"
	accountsGroupDeleted       = "group_deleted"
	accountsGroupModified      = "group_modified"
	accountsGroupMemberAdded   = "group_member_added"
	accountsGroupMemberRemoved = "group_member_removed"
	accountsPasswordChanged    = "password_changed"
)

// ReasonBadAccountMessage is a shadow tool's message that starts like a
// known one ("new user: ", "delete user ") but whose names cannot be read.
const ReasonBadAccountMessage = "bad_account_message"

func init() {
	register(Source{
		Name:        "linux_accounts",
		Description: "account and group changes by useradd, usermod, userdel, groupadd, groupmod, groupdel, gpasswd, passwd, chpasswd, chage, chfn, chsh and newusers",
		Priority:    20,
		Apps: []string{
			"useradd", "usermod", "userdel", "groupadd", "groupmod", "groupdel",
			"gpasswd", "passwd", "chpasswd", "chgpasswd", "chage", "chfn", "chsh",
			"newusers", "groupmems",
		},
		Reasons: []string{ReasonBadAccountMessage},
		Parse:   parseAccounts,
	})
}

// parseAccounts reads one message of a shadow tool. The wording follows
// the shadow sources: names in 'quotes' (4.2 and later) or `quotes'
// (earlier releases). Messages that repeat a change in /etc/gshadow ("add
// 'bob' to shadow group 'sudo'") keep their fields but get no action, so
// that each change counts once. The tools log most changes before they
// write the files, so a later "failed ..." line of the same process is
// what says a change did not happen.
func parseAccounts(_ *Parser, in Input, ev *schemas.Event) *Error {
	msg := accountsTrim(in.Msg)
	ev.Event.Dataset = DatasetLinuxAccounts
	if strings.HasPrefix(msg, "pam_") {
		accountsPAM(ev, msg)
		return nil
	}
	if msg == "" {
		return nil
	}
	var err *Error
	switch msg[0] {
	case 'n':
		if rest, ok := strings.CutPrefix(msg, "new user: "); ok {
			err = accountsNewUser(ev, rest)
		} else if rest, ok := strings.CutPrefix(msg, "new group: "); ok {
			err = accountsNewGroup(ev, rest, false)
		}
		if rest, ok := strings.CutPrefix(msg, "now < minimum age for "); ok {
			accountsPasswordRefused(ev, rest, "minimum age")
		}
	case 'a':
		accountsAdd(ev, msg)
	case 'd':
		err = accountsDelete(ev, msg)
	case 'r':
		accountsRemove(ev, msg)
	case 'l', 'u':
		accountsLockOrUser(ev, msg)
	case 'c':
		accountsChange(ev, msg)
	case 'g':
		accountsGroup(ev, msg)
	case 'p':
		err = accountsPassword(ev, msg)
	case 'f':
		accountsFailed(ev, msg)
	case 'm':
		// gpasswd -M: "members of group G set by A to LIST"
		if rest, ok := strings.CutPrefix(msg, "members of group "); ok {
			accountsGpasswdGroup(ev, rest, " set by ", "members set")
		}
	case 'i':
		if rest, ok := strings.CutPrefix(msg, "incorrect password for "); ok {
			setAccount(ev, accountsPasswordChanged, schemas.TypeChange, schemas.OutcomeFailure, "incorrect password")
			ev.User.Target.Name = accountsWord(rest)
		}
	}
	if err == nil && ev.Event.Category == "" {
		// gpasswd's failures start with the name of the user who ran
		// it: "ADMIN failed to add user U to group G".
		accountsGpasswdFailure(ev, msg)
	}
	return err
}

// accountsTrim drops what syslog daemons leave at the end of userdel's and
// groupdel's messages, which end in a line feed: the line feed itself,
// rsyslog's "#012" escape of it, and spaces.
func accountsTrim(s string) string {
	for {
		switch {
		case strings.HasSuffix(s, "#012"):
			s = s[:len(s)-4]
		case s != "" && (s[len(s)-1] == '\n' || s[len(s)-1] == ' ' || s[len(s)-1] == '\r'):
			s = s[:len(s)-1]
		default:
			return s
		}
	}
}

// setAccount sets the fields every account or group change shares.
func setAccount(ev *schemas.Event, action, typ, outcome, reason string) {
	e := &ev.Event
	e.Category, e.Action, e.Type, e.Outcome, e.Reason = schemas.CategoryIAM, action, typ, outcome, reason
}

// accountsShadowCopy marks a message that repeats, for /etc/gshadow, a
// change another line of the same process reports: category only, so that
// nothing counts the change twice.
func accountsShadowCopy(ev *schemas.Event) {
	ev.Event.Category = schemas.CategoryIAM
}

// accountsQuoted reads a name in 'quotes' or `quotes' at the start of s.
func accountsQuoted(s string) (name, rest string, ok bool) {
	if len(s) < 2 || (s[0] != '\'' && s[0] != '`') {
		return "", s, false
	}
	end := strings.IndexByte(s[1:], '\'')
	if end < 0 {
		return "", s, false
	}
	return s[1 : 1+end], s[2+end:], true
}

// accountsWord returns s up to its first space.
func accountsWord(s string) string {
	if i := strings.IndexByte(s, ' '); i >= 0 {
		return s[:i]
	}
	return s
}

// accountsNewUser reads useradd's "name=N, UID=U, GID=G, home=H, shell=S[,
// from=TTY]" (4.1 wrote uid= and gid= in lower case).
func accountsNewUser(ev *schemas.Event, s string) *Error {
	var name, uid, gid string
	for s != "" && gid == "" {
		var field string
		field, s, _ = strings.Cut(s, ", ")
		k, v, _ := strings.Cut(field, "=")
		switch k {
		case "name":
			name = v
		case "UID", "uid":
			uid = v
		case "GID", "gid":
			gid = v
		}
	}
	if name == "" {
		return &Error{Reason: ReasonBadAccountMessage, Detail: "useradd's \"new user:\" message without name="}
	}
	setAccount(ev, accountsUserCreated, schemas.TypeCreation, schemas.OutcomeSuccess, "")
	ev.User.Target.Name, ev.User.Target.ID, ev.Group.ID = name, uid, gid
	return nil
}

// accountsNewGroup reads "name=G[, GID=N]"; shadow is true for the copy in
// /etc/gshadow.
func accountsNewGroup(ev *schemas.Event, s string, shadow bool) *Error {
	var name, gid string
	for s != "" {
		var field string
		field, s, _ = strings.Cut(s, ", ")
		k, v, _ := strings.Cut(field, "=")
		switch k {
		case "name":
			name = v
		case "GID", "gid":
			gid = v
		}
	}
	if name == "" {
		return &Error{Reason: ReasonBadAccountMessage, Detail: "group message without name="}
	}
	ev.Group.Name, ev.Group.ID = name, gid
	if shadow {
		accountsShadowCopy(ev)
		return nil
	}
	setAccount(ev, accountsGroupCreated, schemas.TypeCreation, schemas.OutcomeSuccess, "")
	return nil
}

// accountsMember reads "'U' to group 'G'" or "'U' to shadow group 'G'"
// (and the same with " from "): a change of membership.
func accountsMember(ev *schemas.Event, s, prep, action string) {
	user, rest, ok := accountsQuoted(s)
	if !ok {
		return
	}
	shadow := false
	if r, ok := strings.CutPrefix(rest, prep+"group "); ok {
		rest = r
	} else if r, ok := strings.CutPrefix(rest, prep+"shadow group "); ok {
		rest, shadow = r, true
	} else {
		return
	}
	group, _, ok := accountsQuoted(rest)
	if !ok {
		return
	}
	ev.User.Target.Name, ev.Group.Name = user, group
	if shadow {
		accountsShadowCopy(ev)
		return
	}
	setAccount(ev, action, schemas.TypeChange, schemas.OutcomeSuccess, "")
}

// accountsAdd reads "add 'U' to group 'G'" (useradd, usermod) and
// groupmems' "add member U to group G by A".
func accountsAdd(ev *schemas.Event, msg string) {
	if rest, ok := strings.CutPrefix(msg, "add member "); ok {
		accountsGroupmems(ev, rest, " to group ", accountsGroupMemberAdded)
		return
	}
	if rest, ok := strings.CutPrefix(msg, "add "); ok {
		accountsMember(ev, rest, " to ", accountsGroupMemberAdded)
		return
	}
	if rest, ok := strings.CutPrefix(msg, "access to group "); ok {
		accountsGpasswdGroup(ev, rest, " restricted by ", "access restricted")
		return
	}
	if rest, ok := strings.CutPrefix(msg, "administrators of group "); ok {
		accountsGpasswdGroup(ev, rest, " set by ", "administrators set")
	}
}

// accountsGroupmems reads groupmems' "U to group G by A" (or "from").
func accountsGroupmems(ev *schemas.Event, s, prep, action string) {
	user, rest, ok := strings.Cut(s, prep)
	if !ok {
		return
	}
	group, by, ok := strings.Cut(rest, " by ")
	if !ok {
		return
	}
	setAccount(ev, action, schemas.TypeChange, schemas.OutcomeSuccess, "")
	ev.User.Target.Name, ev.Group.Name, ev.User.Name = user, group, by
}

// accountsDelete reads userdel's and usermod's "delete user 'U'" and
// "delete 'U' from group 'G'".
func accountsDelete(ev *schemas.Event, msg string) *Error {
	if rest, ok := strings.CutPrefix(msg, "delete user "); ok {
		user, _, ok := accountsQuoted(rest)
		if !ok {
			return &Error{Reason: ReasonBadAccountMessage, Detail: "userdel's \"delete user\" message without a quoted name"}
		}
		setAccount(ev, accountsUserDeleted, schemas.TypeDeletion, schemas.OutcomeSuccess, "")
		ev.User.Target.Name = user
		return nil
	}
	if rest, ok := strings.CutPrefix(msg, "delete "); ok {
		accountsMember(ev, rest, " from ", accountsGroupMemberRemoved)
	}
	return nil
}

// accountsRemove reads userdel's "removed group 'G' owned by 'U'",
// groupdel's old "remove group `G'", gpasswd's "removed by" forms and
// groupmems' "remove member U from group G by A".
func accountsRemove(ev *schemas.Event, msg string) {
	switch {
	case strings.HasPrefix(msg, "removed group "), strings.HasPrefix(msg, "removed shadow group "):
		shadow := strings.HasPrefix(msg, "removed shadow group ")
		rest := msg[len("removed group "):]
		if shadow {
			rest = msg[len("removed shadow group "):]
		}
		group, rest, ok := accountsQuoted(rest)
		if !ok {
			return
		}
		ev.Group.Name = group
		if owner, ok := strings.CutPrefix(rest, " owned by "); ok {
			if user, _, ok := accountsQuoted(owner); ok {
				ev.User.Target.Name = user
			}
		}
		if shadow {
			accountsShadowCopy(ev)
			return
		}
		setAccount(ev, accountsGroupDeleted, schemas.TypeDeletion, schemas.OutcomeSuccess, "")
	case strings.HasPrefix(msg, "remove group "):
		if group, _, ok := accountsQuoted(msg[len("remove group "):]); ok {
			setAccount(ev, accountsGroupDeleted, schemas.TypeDeletion, schemas.OutcomeSuccess, "")
			ev.Group.Name = group
		}
	case strings.HasPrefix(msg, "remove member "):
		accountsGroupmems(ev, msg[len("remove member "):], " from group ", accountsGroupMemberRemoved)
	case strings.HasPrefix(msg, "remove password from group "):
		accountsGroupmemsPassword(ev, msg[len("remove password from group "):], "group password removed")
	case strings.HasPrefix(msg, "restrict access to group "):
		accountsGroupmemsPassword(ev, msg[len("restrict access to group "):], "access restricted")
	}
}

// accountsGroupmemsPassword reads groupmems' "G by A" after a change of a
// group's password.
func accountsGroupmemsPassword(ev *schemas.Event, s, reason string) {
	group, by, ok := strings.Cut(s, " by ")
	if !ok {
		return
	}
	setAccount(ev, accountsGroupModified, schemas.TypeChange, schemas.OutcomeSuccess, reason)
	ev.Group.Name, ev.User.Name = group, by
}

// accountsLockOrUser reads usermod's "lock user 'U' password" and "unlock
// user 'U' password", and gpasswd's "user U added by A to group G" and
// "user U removed by A from group G".
func accountsLockOrUser(ev *schemas.Event, msg string) {
	for _, f := range [...]struct{ prefix, reason string }{
		{"lock user ", "password locked"}, {"unlock user ", "password unlocked"},
	} {
		if rest, ok := strings.CutPrefix(msg, f.prefix); ok {
			if user, rest, ok := accountsQuoted(rest); ok && strings.HasPrefix(rest, " password") {
				setAccount(ev, accountsUserModified, schemas.TypeChange, schemas.OutcomeSuccess, f.reason)
				ev.User.Target.Name = user
			}
			return
		}
	}
	rest, ok := strings.CutPrefix(msg, "user ")
	if !ok {
		return
	}
	user, rest, ok := strings.Cut(rest, " ")
	if !ok {
		return
	}
	action, prep := accountsGroupMemberAdded, " to group "
	if r, ok := strings.CutPrefix(rest, "added by "); ok {
		rest = r
	} else if r, ok := strings.CutPrefix(rest, "removed by "); ok {
		rest, action, prep = r, accountsGroupMemberRemoved, " from group "
	} else {
		return
	}
	by, group, ok := strings.Cut(rest, prep)
	if !ok {
		return
	}
	setAccount(ev, action, schemas.TypeChange, schemas.OutcomeSuccess, "")
	ev.User.Target.Name, ev.User.Name, ev.Group.Name = user, by, accountsWord(group)
}

// accountsChange reads usermod's "change user 'U' ATTR from 'A' to 'B'",
// "change user 'U' password", "change user name 'A' to 'B'" and "change
// 'A' to 'B' in group 'G'", chage's "changed password expiry for U", chfn's
// and chsh's "changed user 'U' ...", groupmod's "change group `G' to `H'"
// and "change GID for `G' to N", and groupmems' "change the password for
// group G by A".
func accountsChange(ev *schemas.Event, msg string) {
	switch {
	case strings.HasPrefix(msg, "change user name "):
		if old, rest, ok := accountsQuoted(msg[len("change user name "):]); ok {
			setAccount(ev, accountsUserModified, schemas.TypeChange, schemas.OutcomeSuccess, "name changed")
			ev.User.Target.Name = old
			if r, ok := strings.CutPrefix(rest, " to "); ok {
				if name, _, ok := accountsQuoted(r); ok {
					ev.User.Target.Name = name
				}
			}
		}
	case strings.HasPrefix(msg, "change user "):
		accountsChangeUser(ev, msg[len("change user "):])
	case strings.HasPrefix(msg, "change admin "):
		// Only in /etc/gshadow: the "change 'A' to 'B' in group" line of
		// the same rename is the one that counts.
		if user, _, ok := accountsQuoted(msg[len("change admin "):]); ok {
			ev.User.Target.Name = user
			accountsShadowCopy(ev)
		}
	case strings.HasPrefix(msg, "change group "):
		if group, rest, ok := accountsQuoted(msg[len("change group "):]); ok {
			setAccount(ev, accountsGroupModified, schemas.TypeChange, schemas.OutcomeSuccess, "name changed")
			ev.Group.Name = group
			if r, ok := strings.CutPrefix(rest, " to "); ok {
				if name, _, ok := accountsQuoted(r); ok {
					ev.Group.Name = name
				}
			}
		}
	case strings.HasPrefix(msg, "change GID for "):
		if group, rest, ok := accountsQuoted(msg[len("change GID for "):]); ok {
			setAccount(ev, accountsGroupModified, schemas.TypeChange, schemas.OutcomeSuccess, "gid changed")
			ev.Group.Name = group
			if gid, ok := strings.CutPrefix(rest, " to "); ok {
				ev.Group.ID = gid
			}
		}
	case strings.HasPrefix(msg, "change the password for group "):
		accountsGroupmemsPassword(ev, msg[len("change the password for group "):], "group password changed")
	case strings.HasPrefix(msg, "changed password expiry for "):
		setAccount(ev, accountsUserModified, schemas.TypeChange, schemas.OutcomeSuccess, "password expiry changed")
		ev.User.Target.Name = accountsWord(msg[len("changed password expiry for "):])
	case strings.HasPrefix(msg, "changed user "):
		user, rest, ok := accountsQuoted(msg[len("changed user "):])
		if !ok {
			return
		}
		reason := "information changed"
		if strings.HasPrefix(rest, " shell to ") {
			reason = "shell changed"
		}
		setAccount(ev, accountsUserModified, schemas.TypeChange, schemas.OutcomeSuccess, reason)
		ev.User.Target.Name = user
	case strings.HasPrefix(msg, "change "):
		// usermod -l: "change 'OLD' to 'NEW' in [shadow ]group 'G'"
		_, rest, ok := accountsQuoted(msg[len("change "):])
		if !ok {
			return
		}
		rest, ok = strings.CutPrefix(rest, " to ")
		if !ok {
			return
		}
		name, rest, ok := accountsQuoted(rest)
		if !ok {
			return
		}
		ev.User.Target.Name = name
		if r, ok := strings.CutPrefix(rest, " in group "); ok {
			if group, _, ok := accountsQuoted(r); ok {
				ev.Group.Name = group
			}
			setAccount(ev, accountsUserModified, schemas.TypeChange, schemas.OutcomeSuccess, "name changed")
		} else if r, ok := strings.CutPrefix(rest, " in shadow group "); ok {
			if group, _, ok := accountsQuoted(r); ok {
				ev.Group.Name = group
			}
			accountsShadowCopy(ev)
		}
	case strings.HasPrefix(msg, "can't change shell for "):
		if user, _, ok := accountsQuoted(msg[len("can't change shell for "):]); ok {
			setAccount(ev, accountsUserModified, schemas.TypeChange, schemas.OutcomeFailure, "shell not changed")
			ev.User.Target.Name = user
		}
	}
}

// accountsChangeUser reads what follows usermod's "change user ": "'U'
// password" or "'U' ATTR from 'A' to 'B'".
func accountsChangeUser(ev *schemas.Event, s string) {
	user, rest, ok := accountsQuoted(s)
	if !ok {
		return
	}
	ev.User.Target.Name = user
	if rest == " password" {
		setAccount(ev, accountsPasswordChanged, schemas.TypeChange, schemas.OutcomeSuccess, "")
		return
	}
	attr, rest, ok := strings.Cut(strings.TrimPrefix(rest, " "), " from ")
	if !ok {
		return
	}
	reason := ""
	switch attr {
	case "UID":
		reason = "uid changed"
		if _, to, ok := strings.Cut(rest, " to "); ok {
			if uid, _, ok := accountsQuoted(to); ok {
				ev.User.Target.ID = uid
			}
		}
	case "GID":
		reason = "gid changed"
		if _, to, ok := strings.Cut(rest, " to "); ok {
			if gid, _, ok := accountsQuoted(to); ok {
				ev.Group.ID = gid
			}
		}
	case "home":
		reason = "home changed"
	case "shell":
		reason = "shell changed"
	case "inactive":
		reason = "inactive changed"
	case "expiration":
		reason = "expiration changed"
	default:
		return
	}
	setAccount(ev, accountsUserModified, schemas.TypeChange, schemas.OutcomeSuccess, reason)
}

// accountsGroup reads groupadd's "group added to FILE: name=G, GID=N",
// groupdel's "group 'G' removed from FILE" and "group 'G' removed", and
// groupmod's "group changed in FILE (group G/GID, ...)".
func accountsGroup(ev *schemas.Event, msg string) {
	if rest, ok := strings.CutPrefix(msg, "group added to "); ok {
		file, kv, ok := strings.Cut(rest, ": ")
		if ok {
			_ = accountsNewGroup(ev, kv, strings.HasSuffix(file, "gshadow"))
		}
		return
	}
	if rest, ok := strings.CutPrefix(msg, "group changed in "); ok {
		file, desc, ok := strings.Cut(rest, " (")
		if !ok {
			return
		}
		if d, ok := strings.CutPrefix(desc, "group "); ok {
			end := strings.IndexAny(d, "/, )")
			if end < 0 {
				end = len(d)
			}
			ev.Group.Name = d[:end]
		}
		if strings.HasSuffix(file, "gshadow") {
			accountsShadowCopy(ev)
			return
		}
		setAccount(ev, accountsGroupModified, schemas.TypeChange, schemas.OutcomeSuccess, "")
		return
	}
	if rest, ok := strings.CutPrefix(msg, "group "); ok {
		group, rest, ok := accountsQuoted(rest)
		if !ok || !strings.HasPrefix(rest, " removed") {
			return
		}
		ev.Group.Name = group
		if strings.HasSuffix(rest, "gshadow") {
			accountsShadowCopy(ev)
			return
		}
		setAccount(ev, accountsGroupDeleted, schemas.TypeDeletion, schemas.OutcomeSuccess, "")
	}
}

// accountsPassword reads shadow passwd's "password for 'U' changed by 'A'"
// and "password locked for 'U'", and gpasswd's "password of group G
// changed by A" and "password of group G removed by A".
func accountsPassword(ev *schemas.Event, msg string) *Error {
	if rest, ok := strings.CutPrefix(msg, "password for "); ok {
		user, rest, ok := accountsQuoted(rest)
		if !ok {
			return &Error{Reason: ReasonBadAccountMessage, Detail: "passwd's \"password for\" message without a quoted name"}
		}
		setAccount(ev, accountsPasswordChanged, schemas.TypeChange, schemas.OutcomeSuccess, "")
		ev.User.Target.Name = user
		if by, ok := strings.CutPrefix(rest, " changed by "); ok {
			if name, _, ok := accountsQuoted(by); ok {
				ev.User.Name = name
			}
		}
		return nil
	}
	if rest, ok := strings.CutPrefix(msg, "password locked for "); ok {
		// passwd refused to change the password of a locked or expired
		// account; usermod's "lock user" is what locks one.
		accountsPasswordRefused(ev, rest, "account locked")
		return nil
	}
	if rest, ok := strings.CutPrefix(msg, "password of group "); ok {
		if strings.Contains(rest, " removed by ") {
			accountsGpasswdGroup(ev, rest, " removed by ", "group password removed")
		} else {
			accountsGpasswdGroup(ev, rest, " changed by ", "group password changed")
		}
	}
	return nil
}

// accountsPasswordRefused records a password change that passwd refused
// for the account named (quoted or not) at the start of s.
func accountsPasswordRefused(ev *schemas.Event, s, reason string) {
	user, _, ok := accountsQuoted(s)
	if !ok {
		user = accountsWord(s)
	}
	setAccount(ev, accountsPasswordChanged, schemas.TypeChange, schemas.OutcomeFailure, reason)
	ev.User.Target.Name = user
}

// accountsGpasswdGroup reads gpasswd's "G<sep>A[ to LIST][ in FILE]".
func accountsGpasswdGroup(ev *schemas.Event, s, sep, reason string) {
	group, by, ok := strings.Cut(s, sep)
	if !ok {
		return
	}
	setAccount(ev, accountsGroupModified, schemas.TypeChange, schemas.OutcomeSuccess, reason)
	ev.Group.Name, ev.User.Name = group, accountsWord(by)
}

// accountsGpasswdFailure reads gpasswd's "A failed to add user U to group
// G", "A failed to remove user U from group G" and its other "A failed to
// ..." messages.
func accountsGpasswdFailure(ev *schemas.Event, msg string) {
	by, rest, ok := strings.Cut(msg, " failed to ")
	if !ok || strings.IndexByte(by, ' ') >= 0 {
		return
	}
	switch {
	case strings.HasPrefix(rest, "add user "):
		user, group, ok := strings.Cut(rest[len("add user "):], " to group ")
		if !ok {
			return
		}
		setAccount(ev, accountsGroupMemberAdded, schemas.TypeChange, schemas.OutcomeFailure, "")
		ev.User.Target.Name, ev.Group.Name = user, accountsWord(group)
	case strings.HasPrefix(rest, "remove user "):
		user, group, ok := strings.Cut(rest[len("remove user "):], " from group ")
		if !ok {
			return
		}
		setAccount(ev, accountsGroupMemberRemoved, schemas.TypeChange, schemas.OutcomeFailure, "")
		ev.User.Target.Name, ev.Group.Name = user, accountsWord(group)
	default:
		// "remove password of group G", "restrict access to group G",
		// "set the members of group G to L", "change password of group G"
		i := strings.Index(rest, "group ")
		if i < 0 {
			return
		}
		setAccount(ev, accountsGroupModified, schemas.TypeChange, schemas.OutcomeFailure, "")
		ev.Group.Name = accountsWord(rest[i+len("group "):])
	}
	ev.User.Name = by
}

// accountsFailed reads useradd's "failed adding user 'U', exit code: N"
// and "failed adding user `U', data deleted", and the messages the tools'
// shared clean-up code writes when a change is rolled back: "failed to add
// user U", "failed to add group G", "failed to remove group G", "failed to
// change FILE (group G/...)".
func accountsFailed(ev *schemas.Event, msg string) {
	switch {
	case strings.HasPrefix(msg, "failed adding user "):
		user, rest, ok := accountsQuoted(msg[len("failed adding user "):])
		if !ok {
			return
		}
		setAccount(ev, accountsUserCreated, schemas.TypeCreation, schemas.OutcomeFailure, strings.TrimPrefix(rest, ", "))
		ev.User.Target.Name = user
	case strings.HasPrefix(msg, "failed to add user "):
		setAccount(ev, accountsUserCreated, schemas.TypeCreation, schemas.OutcomeFailure, "")
		ev.User.Target.Name = accountsWord(msg[len("failed to add user "):])
	case strings.HasPrefix(msg, "failed to add group "):
		setAccount(ev, accountsGroupCreated, schemas.TypeCreation, schemas.OutcomeFailure, "")
		ev.Group.Name = accountsWord(msg[len("failed to add group "):])
	case strings.HasPrefix(msg, "failed to remove group "):
		setAccount(ev, accountsGroupDeleted, schemas.TypeDeletion, schemas.OutcomeFailure, "")
		ev.Group.Name = accountsWord(msg[len("failed to remove group "):])
	case strings.HasPrefix(msg, "failed to change "):
		_, desc, ok := strings.Cut(msg, " (group ")
		if !ok {
			return
		}
		end := strings.IndexAny(desc, "/, )")
		if end < 0 {
			end = len(desc)
		}
		setAccount(ev, accountsGroupModified, schemas.TypeChange, schemas.OutcomeFailure, "")
		ev.Group.Name = desc[:end]
	}
}

// accountsPAM reads a PAM module's message inside passwd or chpasswd:
// pam_unix's "password changed for U" and "new password not acceptable";
// any other PAM message is read as in every other program.
func accountsPAM(ev *schemas.Event, msg string) {
	open := strings.IndexByte(msg, '(')
	if open > 0 {
		if inner, body, ok := strings.Cut(msg[open+1:], "): "); ok && strings.HasSuffix(inner, ":chauthtok") {
			switch {
			case strings.HasPrefix(body, "password changed for "):
				setAccount(ev, accountsPasswordChanged, schemas.TypeChange, schemas.OutcomeSuccess, "")
				ev.User.Target.Name = accountsWord(body[len("password changed for "):])
				return
			case strings.HasPrefix(body, "new password not acceptable"):
				setAccount(ev, accountsPasswordChanged, schemas.TypeChange, schemas.OutcomeFailure, "password not acceptable")
				return
			}
		}
	}
	pam(ev, msg)
}
