package discord

import "context"

// ---- thread members ----

// A group thread is named after the people of its conversation when it
// was made (its key); those who joined later are kept here, so that the
// conversation is opened again with them too — after a restart as well.

// ThreadMembers returns who joined a user's group conversation besides
// the people of its key.
func (s *Store) ThreadMembers(ctx context.Context, userID, key string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT email FROM discord_thread_members WHERE user_id = $1 AND conv_key = $2 ORDER BY email`, userID, key)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// AddThreadMember records that email joined a user's group conversation.
func (s *Store) AddThreadMember(ctx context.Context, userID, key, email string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO discord_thread_members (user_id, conv_key, email) VALUES ($1, $2, $3)
		ON CONFLICT (user_id, conv_key, email) DO NOTHING`, userID, key, email)
	return err
}
