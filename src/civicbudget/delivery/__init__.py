"""After the reply: implementation, money and evaluation of the selected projects."""
