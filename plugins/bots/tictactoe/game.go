package main

import (
	"strings"
)

// mark is what is on a square: ' ', 'X' or 'O'.
type mark byte

const (
	empty mark = ' '
	markX mark = 'X'
	markO mark = 'O'
)

func (m mark) other() mark {
	if m == markX {
		return markO
	}
	return markX
}

// board is the 3×3 grid, squares 0..8 read left to right, top to bottom
// (people type 1..9).
type board [9]mark

func newBoard() board {
	var b board
	for i := range b {
		b[i] = empty
	}
	return b
}

var lines = [8][3]int{
	{0, 1, 2}, {3, 4, 5}, {6, 7, 8}, // rows
	{0, 3, 6}, {1, 4, 7}, {2, 5, 8}, // columns
	{0, 4, 8}, {2, 4, 6}, // diagonals
}

// winner returns the mark with three in a row, or empty.
func (b *board) winner() mark {
	for _, l := range lines {
		if b[l[0]] != empty && b[l[0]] == b[l[1]] && b[l[1]] == b[l[2]] {
			return b[l[0]]
		}
	}
	return empty
}

func (b *board) full() bool {
	for _, m := range b {
		if m == empty {
			return false
		}
	}
	return true
}

// String draws the board, free squares showing their numbers. It lines up
// in a fixed-width font, which the bot asks for.
func (b *board) String() string {
	var s strings.Builder
	for r := range 3 {
		if r > 0 {
			s.WriteString("---+---+---\n")
		}
		for c := range 3 {
			i := r*3 + c
			if c > 0 {
				s.WriteString("|")
			}
			ch := byte('1' + i)
			if b[i] != empty {
				ch = byte(b[i])
			}
			s.WriteString(" " + string(ch) + " ")
		}
		s.WriteString("\n")
	}
	return strings.TrimSuffix(s.String(), "\n")
}

// completing returns a square that gives m three in a row, or -1.
func (b *board) completing(m mark) int {
	for _, l := range lines {
		n, free := 0, -1
		for _, i := range l {
			switch b[i] {
			case m:
				n++
			case empty:
				free = i
			}
		}
		if n == 2 && free >= 0 {
			return free
		}
	}
	return -1
}

// moveNormal is a fair opponent: it takes a win, blocks a loss, and
// otherwise prefers the centre, then corners, then sides. It can be beaten
// with a fork — finding one is the fun.
func (b *board) moveNormal(me mark) int {
	if i := b.completing(me); i >= 0 {
		return i
	}
	if i := b.completing(me.other()); i >= 0 {
		return i
	}
	for _, i := range []int{4, 0, 2, 6, 8, 1, 3, 5, 7} {
		if b[i] == empty {
			return i
		}
	}
	return -1
}

// moveHard never loses (minimax over the whole game tree, which is small).
func (b *board) moveHard(me mark) int {
	best, bestScore := -1, -2
	for i := range b {
		if b[i] != empty {
			continue
		}
		b[i] = me
		s := -b.negamax(me.other())
		b[i] = empty
		if s > bestScore {
			best, bestScore = i, s
		}
	}
	return best
}

// negamax scores the position for the player to move: 1 win, 0 draw, -1 loss.
func (b *board) negamax(toMove mark) int {
	if w := b.winner(); w != empty {
		if w == toMove {
			return 1
		}
		return -1
	}
	if b.full() {
		return 0
	}
	best := -2
	for i := range b {
		if b[i] != empty {
			continue
		}
		b[i] = toMove
		s := -b.negamax(toMove.other())
		b[i] = empty
		if s > best {
			best = s
		}
	}
	return best
}
