"""Chinese for ballot secrecy: the cast confirmation, batches and receipts."""

ZH = {
    "Ballot cast": "投票成功",
    "This ballot had been cast already; here is its receipt again.": "这张选票已经投出，以下是它的回执。",
    "Your choices, shown this once:": "您的选择（仅显示这一次）：",
    "%(n)s point": "%(n)s分",
    "Your receipt:": "您的回执：",
    "Save or write down the receipt: the platform does not keep it with your name. With it you can check that your ballot is in the public log; it does not show, to you or to anyone, how you voted. Ballots enter the log in mixed batches, so it can take a few minutes before the receipt is found there.":
        "请保存或抄下回执：平台不会把它和您的姓名一起保存。凭回执可以查验您的选票已记入公开记录；它不会向您或任何人显示您投了什么。选票按打乱顺序的批次记入公开记录，所以可能要过几分钟才能查到回执。",
    "Check this receipt": "查验这张回执",
    "You have one more ballot to cast.": "您还有%(n)s张选票可以投。",
    "Go on to %(title)s": "继续投%(title)s",
    "You have cast all your ballots. Thank you for taking part.": "您的选票已全部投出，感谢参与！",
    "Your ballot was received and waits for its batch.": "已收到您的选票，正在等待所在批次记入公开记录。",
    "Ballots enter the public log in mixed batches, so that the log's order cannot tell when anyone voted. A batch is written once it holds %(size)s ballots, or after %(minutes)s minutes when it holds enough ballots to hide each one; all ballots are written when voting closes. Check again later.":
        "选票按打乱顺序的批次记入公开记录，这样记录的顺序无法透露任何人何时投票。一个批次满%(size)s张选票即记入；或等满%(minutes)s分钟且票数足以隐藏每一张时记入；投票结束时全部记入。请稍后再查。",
    "It was written in a batch of %(n)s ballots, closed at %(when)s.": "它记入了一个共%(n)s张选票的批次，该批次于%(when)s封存。",
    "The proof below shows that this entry is in the log whose root the election office signed. Anyone can check it offline; after the count, the whole log is published. The receipt proves that the ballot was counted, not how it was filled in.":
        "下面的证明表明这条记录在选举办公室签名的公开记录中。任何人都可以离线核验；计票后将公开全部记录。回执证明选票已被计入，但不证明选票的内容。",
    "Technical details": "技术细节",
}
