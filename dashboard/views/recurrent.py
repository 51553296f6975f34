"""Recurrent networks: RNN, LSTM and GRU through time."""

from dashboard.widgets.lab import render_lab

render_lab("rnn")  # title, intro and charts: its FAMILIES entry
