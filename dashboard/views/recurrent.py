"""Recurrent networks: RNN, LSTM and GRU through time."""

from dashboard.lab import render_lab

render_lab("rnn")  # title, intro and charts: its FAMILIES entry
