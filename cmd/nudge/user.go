package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/nudge-im/nudge/core/config"
	"github.com/nudge-im/nudge/core/store"
)

func userCommand() *cobra.Command {
	var data, configPath, dbURL string
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Manage accounts (works while the server runs)",
	}
	cmd.PersistentFlags().StringVar(&data, "data", config.Default().Data, "data directory of the service")
	cmd.PersistentFlags().StringVarP(&configPath, "config", "c", "", "the service's YAML config (its data and database.url)")
	cmd.PersistentFlags().StringVar(&dbURL, "database", "", "PostgreSQL URL of the service's database (default: database.url, else SQLite in --data)")
	open := func(ctx context.Context) (store.Store, error) {
		cfg := config.Default()
		if configPath != "" {
			var err error
			if cfg, err = config.Load(configPath); err != nil {
				return nil, err
			}
		}
		if configPath == "" || cmd.PersistentFlags().Changed("data") {
			cfg.Data = data
		}
		if dbURL != "" {
			cfg.Database.URL = dbURL
		}
		opts := store.Options{BcryptCost: cfg.Login.BcryptCost}
		if cfg.Database.URL != "" {
			st, err := store.OpenURL(ctx, cfg.Database.URL, "", opts)
			if err != nil {
				return nil, fmt.Errorf("cannot open the database: %w", err)
			}
			return st, nil
		}
		path := filepath.Join(cfg.Data, "nudge.db")
		if _, err := os.Stat(path); err != nil && errors.Is(err, os.ErrNotExist) {
			if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
				return nil, err
			}
		}
		st, err := store.Open(ctx, path, opts)
		if err != nil {
			return nil, fmt.Errorf("cannot open the database in %s: %w", cfg.Data, err)
		}
		return st, nil
	}

	var password, name string
	add := &cobra.Command{
		Use:     "add EMAIL",
		Short:   "Make an account",
		Example: "  nudge user add alice@example.com --password secret1 --name Alice",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := passwordFrom(cmd, password)
			if err != nil {
				return err
			}
			st, err := open(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			acct, err := st.CreateAccount(cmd.Context(), args[0], pw, name)
			if err != nil {
				return accountError(args[0], err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "added %s (%s)\n", acct.Email, acct.FriendlyName)
			return nil
		},
	}
	add.Flags().StringVar(&password, "password", "", "the password (asked on the terminal when not given)")
	add.Flags().StringVar(&name, "name", "", "friendly name (default: the e-mail address)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List accounts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := open(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			accts, err := st.Accounts(cmd.Context())
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "EMAIL\tNAME\tCREATED")
			for _, a := range accts {
				fmt.Fprintf(w, "%s\t%s\t%s\n", a.Email, a.FriendlyName, a.Created.Format("2006-01-02 15:04"))
			}
			return w.Flush()
		},
	}

	del := &cobra.Command{
		Use:   "del EMAIL",
		Short: "Delete an account and take it off everyone's lists",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := open(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.DeleteAccount(cmd.Context(), args[0]); err != nil {
				return accountError(args[0], err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted %s\n", args[0])
			return nil
		},
	}

	var newPassword string
	passwd := &cobra.Command{
		Use:   "passwd EMAIL",
		Short: "Set an account's password",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := passwordFrom(cmd, newPassword)
			if err != nil {
				return err
			}
			st, err := open(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.SetPassword(cmd.Context(), args[0], pw); err != nil {
				return accountError(args[0], err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "password of %s changed\n", args[0])
			return nil
		},
	}
	passwd.Flags().StringVar(&newPassword, "password", "", "the new password (asked on the terminal when not given)")

	cmd.AddCommand(add, list, del, passwd)
	return cmd
}

// passwordFrom returns the flag's value or reads a line from standard input.
func passwordFrom(cmd *cobra.Command, flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	fmt.Fprint(cmd.ErrOrStderr(), "Password: ")
	line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		if err != nil {
			return "", errors.New("no password given: use --password or type one")
		}
		return "", errors.New("the password must not be empty")
	}
	return line, nil
}

func accountError(email string, err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%s: no such account (see: nudge user list)", email)
	case errors.Is(err, store.ErrExists):
		return fmt.Errorf("%s: account already exists", email)
	case errors.Is(err, store.ErrInvalidEmail):
		return fmt.Errorf("%s: not a valid e-mail address", email)
	case errors.Is(err, store.ErrInvalidName):
		return fmt.Errorf("%s: friendly name too long", email)
	case errors.Is(err, store.ErrInvalidPassword):
		return fmt.Errorf("%s: the password must be 1 to %d bytes", email, store.MaxPassword)
	}
	return err
}
